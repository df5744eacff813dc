#!/bin/sh
# The v1 recipe: an application token with resource=, then user1's machines.
# Without OPENATP_URL it calls Microsoft's hosts (set-up a of docs/clients.md);
# with it, openatp by its own name (set-up b; trust its CA with --cacert or
# CURL_CA_BUNDLE).
set -eu
login=${OPENATP_URL:-https://login.microsoftonline.com}
api=${OPENATP_URL:-https://api.securitycenter.microsoft.com}
token=$(curl -sS --fail-with-body "$login/$OPENATP_TENANT/oauth2/token" \
  -d grant_type=client_credentials \
  --data-urlencode "client_id=$OPENATP_CLIENT_ID" \
  --data-urlencode "client_secret=$OPENATP_CLIENT_SECRET" \
  --data-urlencode resource=https://api.securitycenter.microsoft.com |
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
curl -sS --fail-with-body -H "Authorization: Bearer $token" "$api/api/users/user1/machines"
