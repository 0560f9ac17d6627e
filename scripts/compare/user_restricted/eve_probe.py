#!/usr/bin/env python3
"""What Python Eve 2.3.1 does with user-restricted resources (auth_field).

The oracle cannot serve authentication (it drops Python-only settings), so
this probe builds Eve in the oracle's virtualenv with a BasicAuth class that
sets the request auth value to the user name, and prints status, the
WWW-Authenticate header and the body of each request through Flask's test
client. Run: ~/.cache/eve-oracle/venv/bin/python eve_probe.py
docs/auth-field.md lists what eve-rs does alike and where it differs.
"""
import base64
import json
import os
import sys
import warnings

# eve_oracle.py (for its mongomock patch): EVE_ORACLE_DIR, else the shared copy.
sys.path.insert(0, os.environ.get("EVE_ORACLE_DIR", "/work/shared/oracle"))
import eve_oracle
eve_oracle.patch_mongo()
from eve import Eve
from eve.auth import BasicAuth

class Auth(BasicAuth):
    def check_auth(self, username, password, allowed_roles, resource, method):
        self.set_request_auth_value(username)
        return password == username + "-pw"

settings = {
  "MONGO_DBNAME": "probe",
  "RESOURCE_METHODS": ["GET", "POST", "DELETE"],
  "ITEM_METHODS": ["GET", "PATCH", "PUT", "DELETE"],
  "AUTH_FIELD": "owner",
  "OPLOG": True, "OPLOG_ENDPOINT": "oplog",
  "DOMAIN": {
    "notes": {"versioning": True, "schema": {"text": {"type": "string"}, "code": {"type": "string", "unique_to_user": True},
              "topic": {"type": "objectid", "data_relation": {"resource": "topics", "embeddable": True}}}},
    "topics": {"schema": {"name": {"type": "string"}}},
    "drafts": {"soft_delete": True, "schema": {"text": {"type": "string"}}},
  }
}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    app = Eve(settings=settings, auth=Auth)
c = app.test_client()
def h(u, extra=None):
    d = {"Authorization": "Basic " + base64.b64encode(f"{u}:{u}-pw".encode()).decode(), "Content-Type": "application/json"}
    d.update(extra or {})
    return d
def show(label, r):
    print(label, r.status_code, {k: v for k, v in r.headers.items() if k.lower() in ("www-authenticate",)}, r.get_data(as_text=True)[:400])
r = c.post("/notes", data=json.dumps([{"text": "a1"}, {"text": "a2"}]), headers=h("ann")); show("POST bulk ann", r)
r = c.post("/notes", data=json.dumps({"text": "b1"}), headers=h("bob")); show("POST bob", r)
bid = r.get_json()["_id"]; betag = r.get_json()["_etag"]
show("GET ann list", c.get("/notes", headers=h("ann")))
show("GET ann bob item", c.get(f"/notes/{bid}", headers=h("ann")))
show("PATCH ann bob item", c.patch(f"/notes/{bid}", data='{"text":"x"}', headers=h("ann", {"If-Match": betag})))
show("PUT ann bob item", c.put(f"/notes/{bid}", data='{"text":"x"}', headers=h("ann", {"If-Match": betag})))
show("PUT ann bob item no etag", c.put(f"/notes/{bid}", data='{"text":"x"}', headers=h("ann")))
show("DELETE ann bob item", c.delete(f"/notes/{bid}", headers=h("ann", {"If-Match": betag})))
show("GET bob item", c.get(f"/notes/{bid}", headers=h("bob")))
show("where owner bob", c.get('/notes?where={"owner":"bob"}', headers=h("ann")))
show("where owner ne", c.get('/notes?where={"owner":{"$ne":"ann"}}', headers=h("ann")))
show("where or", c.get('/notes?where={"$or":[{"owner":"bob"},{"text":"b1"}]}', headers=h("ann")))
show("version ann bob", c.get(f"/notes/{bid}?version=1", headers=h("ann")))
show("oplog ann", c.get("/oplog", headers=h("ann")))
r = c.post("/topics", data='{"name":"bob t"}', headers=h("bob")); tid = r.get_json()["_id"]
show("POST ann note ref bob topic", c.post("/notes", data=json.dumps({"topic": tid}), headers=h("ann")))
show("unique ann x", c.post("/notes", data='{"code":"x"}', headers=h("ann")))
show("unique bob x", c.post("/notes", data='{"code":"x"}', headers=h("bob")))
show("unique ann x again", c.post("/notes", data='{"code":"x"}', headers=h("ann")))
show("DELETE ann collection", c.delete("/notes", headers=h("ann")))
show("GET bob list", c.get("/notes", headers=h("bob")))
r = c.post("/notes", data=json.dumps({"topic": tid}), headers=h("ann")); nid = r.get_json()["_id"]
show("embed ann note->bob topic", c.get(f'/notes/{nid}?embedded={{"topic":1}}', headers=h("ann")))
r = c.post("/drafts", data='{"text":"b"}', headers=h("bob")); did = r.get_json()["_id"]; de = r.get_json()["_etag"]
show("bob soft delete", c.delete(f"/drafts/{did}", headers=h("bob", {"If-Match": de})))
show("ann GET bob soft-deleted", c.get(f"/drafts/{did}", headers=h("ann")))
show("bob GET bob soft-deleted", c.get(f"/drafts/{did}", headers=h("bob")))
