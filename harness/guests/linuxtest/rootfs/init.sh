#!/bin/busybox sh
# /init of the Linux test guest (PID 1 from the initramfs), then busybox init runs a root shell on the console.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Keep asynchronous kernel messages off the interactive console; panics still print (console_verbose).
dmesg -n 1
echo "guestinit: loading modules"
while read -r module; do insmod "/lib/modules/$(uname -r)/$module" 2>/dev/null; done < /etc/modules.order
hostname guest
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
  ip addr add 10.0.2.15/24 dev eth0
  ip link set eth0 up
  ip route add default via 10.0.2.2
fi
# -R: host keys made on first connection; -E: log to the console.
dropbear -R -E -p 22
# ACPI (amd64) or gpio-keys (arm64) power button -> poweroff, for QMP system_powerdown.
acpid -c /etc/acpi 2>/dev/null
echo "guestinit: up $(cut -d' ' -f1 /proc/uptime)s"
exec /sbin/init
