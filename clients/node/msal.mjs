// An MDE client written with @azure/msal-node: a confidential client's
// application token, then user1's machines. Environment as in
// ../python/msal_client.py (OPENATP_URL only for openatp by its own name).
import { ConfidentialClientApplication } from "@azure/msal-node";

const openatp = process.env.OPENATP_URL;
const api = openatp ?? "https://api.securitycenter.microsoft.com";
const auth = {
  clientId: process.env.OPENATP_CLIENT_ID,
  clientSecret: process.env.OPENATP_CLIENT_SECRET,
  authority: `${openatp ?? "https://login.microsoftonline.com"}/${process.env.OPENATP_TENANT}`,
};
if (openatp) auth.knownAuthorities = [new URL(openatp).host]; // no instance discovery

const app = new ConfidentialClientApplication({ auth });
const result = await app.acquireTokenByClientCredential({ scopes: ["https://api.securitycenter.microsoft.com/.default"] });
const res = await fetch(`${api}/api/users/user1/machines`, { headers: { Authorization: `Bearer ${result.accessToken}` } });
if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
const body = await res.json();
console.log(JSON.stringify({ flow: "client_credentials", machines: body.value.map((m) => m.computerDnsName) }));
