#!/usr/bin/env python3
"""An MDE client written with azure-identity for Python: ClientSecretCredential
for an application token and UsernamePasswordCredential for a user's, each
reading user1's machines. Environment as in msal_client.py.
"""
import inspect
import json
import os

import requests
from azure.identity import ClientSecretCredential, UsernamePasswordCredential
from azure.identity._internal.msal_credentials import MsalCredential

OPENATP = os.environ.get("OPENATP_URL")
API = OPENATP or "https://api.securitycenter.microsoft.com"
SCOPE = "https://api.securitycenter.microsoft.com/.default"
EXTRA = {}
if OPENATP:
    # openatp by its own name: its authority, and no instance discovery.
    # azure-identity 1.13 and later spell it disable_instance_discovery=True;
    # Debian 12's 1.13.0b2, instance_discovery=False.
    if "disable_instance_discovery" in inspect.signature(MsalCredential.__init__).parameters:
        EXTRA = {"authority": OPENATP, "disable_instance_discovery": True}
    else:
        EXTRA = {"authority": OPENATP, "instance_discovery": False}


def machines(credential):
    token = credential.get_token(SCOPE).token
    r = requests.get(API + "/api/users/user1/machines", headers={"Authorization": "Bearer " + token}, timeout=30)
    r.raise_for_status()
    return [m["computerDnsName"] for m in r.json()["value"]]


tenant, client_id = os.environ["OPENATP_TENANT"], os.environ["OPENATP_CLIENT_ID"]
cred = ClientSecretCredential(tenant, client_id, os.environ["OPENATP_CLIENT_SECRET"], **EXTRA)
print(json.dumps({"flow": "client_credentials", "machines": machines(cred)}))
user = UsernamePasswordCredential(client_id, os.environ["OPENATP_USERNAME"], os.environ["OPENATP_PASSWORD"],
                                  tenant_id=tenant, **EXTRA)
print(json.dumps({"flow": "password", "machines": machines(user)}))
