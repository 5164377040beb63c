#!/usr/bin/env bash
# Install Dovecot (IMAP + LMTP) from Debian's packages, for the IMAP integration tests.
# Only the packages: the test instance runs from its own config (dovecot-test-setup.sh).
set -euo pipefail
command -v dovecot >/dev/null && command -v doveadm >/dev/null && exit 0
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null
