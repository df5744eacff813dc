#!/usr/bin/env python3
"""An MDE client written with MSAL for Python, as the service's own samples
and most tools write it: an application token (client credentials), then a
user's token (the password grant), each reading user1's machines.

Configuration comes from the environment, as such a tool's would:
OPENATP_TENANT, OPENATP_CLIENT_ID, OPENATP_CLIENT_SECRET, OPENATP_USERNAME,
OPENATP_PASSWORD. OPENATP_URL is set only when openatp is reached by its own
name (docs/clients.md, set-up b); without it the client talks to Microsoft's
hosts, which the machine leads to openatp (set-up a).
Prints one JSON line per flow: {"flow": ..., "machines": [computerDnsName...]}.
"""
import json
import os
import sys

import msal
import requests

OPENATP = os.environ.get("OPENATP_URL")
AUTHORITY = (OPENATP or "https://login.microsoftonline.com") + "/" + os.environ["OPENATP_TENANT"]
API = OPENATP or "https://api.securitycenter.microsoft.com"
SCOPES = ["https://api.securitycenter.microsoft.com/.default"]
# openatp by its own name: Microsoft's instance discovery does not know it.
EXTRA = {"instance_discovery": False} if OPENATP else {}


def machines(result):
    if "access_token" not in result:
        sys.exit("no token: %s" % result)
    r = requests.get(API + "/api/users/user1/machines",
                     headers={"Authorization": "Bearer " + result["access_token"]}, timeout=30)
    r.raise_for_status()
    return [m["computerDnsName"] for m in r.json()["value"]]


app = msal.ConfidentialClientApplication(
    os.environ["OPENATP_CLIENT_ID"], client_credential=os.environ["OPENATP_CLIENT_SECRET"],
    authority=AUTHORITY, **EXTRA)
print(json.dumps({"flow": "client_credentials", "machines": machines(app.acquire_token_for_client(scopes=SCOPES))}))

public = msal.PublicClientApplication(os.environ["OPENATP_CLIENT_ID"], authority=AUTHORITY, **EXTRA)
result = public.acquire_token_by_username_password(
    os.environ["OPENATP_USERNAME"], os.environ["OPENATP_PASSWORD"], scopes=SCOPES)
print(json.dumps({"flow": "password", "machines": machines(result)}))
