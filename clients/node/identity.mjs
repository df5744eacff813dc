// An MDE client written with @azure/identity: ClientSecretCredential for an
// application token, then user1's machines. Environment as in
// ../python/msal_client.py (OPENATP_URL only for openatp by its own name).
import { ClientSecretCredential } from "@azure/identity";

const openatp = process.env.OPENATP_URL;
const api = openatp ?? "https://api.securitycenter.microsoft.com";
const options = openatp ? { authorityHost: openatp, disableInstanceDiscovery: true } : {};

const credential = new ClientSecretCredential(
  process.env.OPENATP_TENANT, process.env.OPENATP_CLIENT_ID, process.env.OPENATP_CLIENT_SECRET, options);
const { token } = await credential.getToken("https://api.securitycenter.microsoft.com/.default");
const res = await fetch(`${api}/api/users/user1/machines`, { headers: { Authorization: `Bearer ${token}` } });
if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
const body = await res.json();
console.log(JSON.stringify({ flow: "client_credentials", machines: body.value.map((m) => m.computerDnsName) }));
