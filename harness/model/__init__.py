"""Reference model of FreeBSD kernel-stack allocation, generations G0-list ... G3."""
