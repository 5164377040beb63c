#!/usr/bin/env bash
# Start a throw-away Dovecot for the IMAP integration tests and the mail benchmark.
#
#   DOVECOT_TEST_DIR=/tmp/x IMAP_PORT=nnnn LMTP_PORT=mmmm scripts/dovecot-test-setup.sh
#
# The caller picks the directory and the ports (tests ask the kernel for free ones), so
# several instances can run side by side. Nothing under /etc/dovecot is read or changed.
# Stop it with `kill "$(cat $DOVECOT_TEST_DIR/run/master.pid)"`; never pkill (other runs
# may have their own). Needs root: Dovecot drops privileges to vmail/dovecot/dovenull.
# See docs: /work/shared/docs/dovecot-test-setup.md (the verified original of this script).
set -euo pipefail
: "${DOVECOT_TEST_DIR:?set DOVECOT_TEST_DIR to a fresh directory outside /tmp/pytest-of-*}"
: "${IMAP_PORT:?set IMAP_PORT to a free TCP port}"
: "${LMTP_PORT:?set LMTP_PORT to a free TCP port}"
D=$DOVECOT_TEST_DIR
TEST_USER=${TEST_USER:-bot@example.test}
TEST_PASS=${TEST_PASS:-secret}
# More accounts (u1@example.test .. uN@example.test, same password), so each test can have
# an empty mailbox of its own; written before start, as Dovecot re-reads the file only
# when its mtime (in seconds) changes.
EXTRA_USERS=${EXTRA_USERS:-0}

command -v dovecot >/dev/null || {
    echo "dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)" >&2
    exit 1
}
id vmail >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin vmail
VUID=$(id -u vmail)

mkdir -p "$D/run" "$D/state" "$D/mail"
# Dovecot's auth and mail processes run as dovecot/vmail: $D and every parent must be
# traversable by them (pytest's tmp_path is under a 0700 dir, which does NOT work).
chmod 755 "$D"
chown vmail:vmail "$D/mail"
{
    printf '%s:{PLAIN}%s\n' "$TEST_USER" "$TEST_PASS"
    for i in $(seq 1 "$EXTRA_USERS"); do printf 'u%s@example.test:{PLAIN}%s\n' "$i" "$TEST_PASS"; done
} > "$D/users"

cat > "$D/dovecot.conf" <<EOF
# Standalone test config: does NOT include /etc/dovecot/conf.d
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = ticketbot-test-$IMAP_PORT
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $VUID
last_valid_uid = $VUID
mail_location = maildir:$D/mail/%u/Maildir
mail_uid = vmail
mail_gid = vmail
namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = create
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
# let root-run doveadm (save/kick/search) talk to the stats service without warnings
service stats {
  unix_listener stats-reader {
    user = root
  }
  unix_listener stats-writer {
    user = root
    mode = 0666
  }
}
EOF

dovecot -c "$D/dovecot.conf" -n >/dev/null          # validate
dovecot -c "$D/dovecot.conf"                         # daemonizes; master pid in $D/run/master.pid
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null && break
    sleep 0.05
done
(exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null || {
    echo "dovecot did not start listening on 127.0.0.1:$IMAP_PORT; see $D/dovecot.log" >&2
    exit 1
}
echo "dovecot up: pid $(cat "$D/run/master.pid") imap 127.0.0.1:$IMAP_PORT lmtp 127.0.0.1:$LMTP_PORT user $TEST_USER"
