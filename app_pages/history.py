"""Lịch sử: every version of the data, what each changed, and rollback to a chosen one."""

from components import access, data, history, shell, upload
from reformkpi.i18n import t

lang = shell.language()
actor = access.guard(access.current_actor(), "upload", lang)
ref = shell.require_data(lang)
shell.header(t("history.title", lang), ref, lang)
hist = data.history(ref)
history.rollback(ref, hist, actor, lang)
history.versions(hist, lang)
history.changes(ref, hist, upload.catalog(ref), lang)
