"""AS4 access-point messages for EU ICS2 (``ICS2-RULES.md`` §5–§7), sans-I/O.

This first part holds the AS4 profile values (:mod:`.profile`), the errors of this layer
(:mod:`.errors`), the PKIPath token (:mod:`.token`) and our own byte-exact
``multipart/related`` writer and reader
(:mod:`.mime`); sealing, verifying and the HTTP transport build on them.
"""
