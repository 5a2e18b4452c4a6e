"""The Tracker interface; the built-in local tracker (Project, Issue, Comment, Attachment); the Jira REST backend."""
