#!/usr/bin/env bash
# Install Dovecot (IMAP + LMTP) from Debian's packages, for the IMAP integration tests.
# Only the packages: the test instance runs from its own config (dovecot-test-setup.sh).
# Every part the tests start is checked: the `dovecot` and `doveadm` commands, and the IMAP
# and LMTP servers (dovecot-imapd, dovecot-lmtpd), which live in Dovecot's libexec folder.
set -euo pipefail
LIBEXEC=${DOVECOT_LIBEXEC:-/usr/lib/dovecot}
command -v dovecot >/dev/null && command -v doveadm >/dev/null \
    && [ -x "$LIBEXEC/imap" ] && [ -x "$LIBEXEC/lmtp" ] && exit 0
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null
