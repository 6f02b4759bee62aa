"""Ảnh chụp số liệu: saved views pinned to a data version; open, rename or delete them."""

from components import access, shell, snapshots_view
from reformkpi.i18n import t

lang = shell.language()
ref = shell.require_data(lang)
shell.header(t("snapshots.title", lang), ref, lang)
snapshots_view.snapshot_list(ref, access.current_actor(), lang)
