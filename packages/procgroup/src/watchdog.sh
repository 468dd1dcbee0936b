# The die-with-owner watchdog of @x/procgroup: one per owner process, run as `/bin/sh -c <this text>`
# in a session of its own, its standard input a pipe whose only writer is the owner. It reads lines:
#   g PGID   a process group to kill when the owner dies     u PGID   that group ended: forget it
#   c DIR    a cgroup v2 directory to kill and remove          d DIR    that cgroup was removed: forget it
# However the owner dies (exit, crash, SIGKILL), the kernel closes its end of the pipe; `read` then
# sees end of input, and the watchdog kills what is still listed, removes the cgroups, and exits.
# The owner drops comment lines before it runs the script (so a comment never shares a line with code);
# its test runs this file as is.

# Process group ids, separated by spaces; cgroup directories, one per line (paths may hold spaces).
groups=''
cgroups=''

# Until the owner's end of the pipe closes: keep both lists up to date.
while IFS= read -r line; do
  # What follows the kind letter and its space.
  value=${line#? }
  case $line in
    # A group started: add its id.
    'g '*) groups="$groups $value" ;;
    # A group ended: drop its id, which may be reused from now on and must never be killed.
    'u '*) left=''; for g in $groups; do [ "$g" = "$value" ] || left="$left $g"; done; groups=$left ;;
    # A cgroup was made: add its directory as a line of its own.
    'c '*) cgroups=$(printf '%s\n%s' "$cgroups" "$value") ;;
    # A cgroup was removed: drop exactly that line.
    'd '*) cgroups=$(printf '%s\n' "$cgroups" | grep -vxF -e "$value") ;;
  esac
done

# The owner is gone. cgroup.kill first: it also reaches members that left their process group (setsid).
printf '%s\n' "$cgroups" | while IFS= read -r c; do [ -z "$c" ] || echo 1 > "$c/cgroup.kill"; done 2>/dev/null

# Then SIGKILL to every group still listed (a group that is empty already makes kill fail; that is fine).
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done

# Remove each cgroup, retrying for up to 2 s while its killed members are still leaving it (EBUSY).
printf '%s\n' "$cgroups" | while IFS= read -r c; do
  [ -z "$c" ] && continue
  tries=0
  while ! rmdir "$c" 2>/dev/null && [ $tries -lt 100 ]; do tries=$((tries + 1)); sleep 0.02; done
done
