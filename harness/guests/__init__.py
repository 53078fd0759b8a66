"""One adapter per guest OS: prompts, login, crash patterns, debugger dialect, kernel install, fingerprint."""
