"""Guest-neutral VM machinery: QEMU command lines, lifecycle, QMP, serial console, SSH, debugger driver."""
