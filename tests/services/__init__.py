"""Real servers for the test suite, each started on loopback in a throwaway directory.

Every server is started once per test session, only when a test asks for it. A server that cannot start
fails the tests that need it with a message saying what to install (`.ci/run` installs everything).
"""
