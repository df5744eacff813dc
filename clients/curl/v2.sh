#!/bin/sh
# The v2 recipe: an application token with scope=<resource>/.default, then
# user1's machines over HTTP/2 (--http2: curl offers h2 and openatp takes
# it). Set-ups as in v1.sh.
set -eu
login=${OPENATP_URL:-https://login.microsoftonline.com}
api=${OPENATP_URL:-https://api.security.microsoft.com}
token=$(curl -sS --fail-with-body "$login/$OPENATP_TENANT/oauth2/v2.0/token" \
  -d grant_type=client_credentials \
  --data-urlencode "client_id=$OPENATP_CLIENT_ID" \
  --data-urlencode "client_secret=$OPENATP_CLIENT_SECRET" \
  --data-urlencode scope=https://api.securitycenter.microsoft.com/.default |
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
curl -sS --fail-with-body --http2 -H "Authorization: Bearer $token" "$api/api/users/user1/machines"
