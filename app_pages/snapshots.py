"""Ảnh chụp số liệu: saved views pinned to a data version; open, rename or delete them."""

from components import access, share, shell
from reformkpi.i18n import t

lang = shell.language()
ref = shell.require_data(lang)
shell.header(t("snapshots.title", lang), ref, lang)
share.snapshot_list(ref, access.current_actor(), lang)
