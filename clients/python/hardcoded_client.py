#!/usr/bin/env python3
"""A client that hard-codes Microsoft's hosts, as many MDE tools do, written
as the service's documentation writes it (the standard library only): a v1
application token from login.microsoftonline.com, then user1's machines from
api.security.microsoft.com. It has no setting for either host: openatp can
stand in for them only through the machine (docs/clients.md, set-up a).
"""
import json
import os
import urllib.parse
import urllib.request

tenant_id = os.environ["OPENATP_TENANT"]
body = urllib.parse.urlencode({
    "resource": "https://api.securitycenter.microsoft.com",
    "client_id": os.environ["OPENATP_CLIENT_ID"],
    "client_secret": os.environ["OPENATP_CLIENT_SECRET"],
    "grant_type": "client_credentials",
}).encode("utf-8")
req = urllib.request.Request("https://login.microsoftonline.com/%s/oauth2/token" % tenant_id, body)
token = json.loads(urllib.request.urlopen(req).read())["access_token"]

req = urllib.request.Request("https://api.security.microsoft.com/api/users/user1/machines",
                             headers={"Accept": "application/json", "Authorization": "Bearer " + token})
answer = json.loads(urllib.request.urlopen(req).read())
print(json.dumps({"flow": "client_credentials", "machines": [m["computerDnsName"] for m in answer["value"]]}))
