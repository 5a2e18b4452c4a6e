"""Admin of inbound: Mail sources (IMAP, POP3, Maildir, MTA pipe), retrieval tasks, message understanding (mime/),
the processing pipeline (pipeline/), test cases.
"""
