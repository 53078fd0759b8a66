"""Pure text -> typed records: console events, vmstat, sysctl, uname, procstat, DDB, panic reports."""
