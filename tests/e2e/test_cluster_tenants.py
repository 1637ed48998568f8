"""Tenants in a cluster (docs/tenancy.md): tenants and tenant keys live in etcd with the keys and roles, so
a tenant made on n1 works on n2; a tenant's collections are sharded over the nodes under their stored
names and read back from any node under the tenant's names; another tenant's and the shared collections
are 404; a forced tenant delete removes its collections everywhere.
"""

import cluster_harness as ch
import vjharness as vh

ADMIN_KEY = "e2e-cluster-tenant-admin-key-0123"
VEC = [0.1, 0.2, 0.3, 0.4]


class ClusterTenantsTest(ch.ClusterTestCase):
    node_names = ("n1", "n2")
    api_key = ADMIN_KEY

    def keyed(self, name, secret):
        s = self.nodes[name]
        return vh.Client(s.host, s.port, api_key=secret)

    def tenant_key(self, tenant):
        self.client("n1").ok("POST", "/vjvector/tenants", {"id": tenant})
        secret = self.client("n1").ok("POST", "/vjvector/keys", {"role": "admin", "tenant": tenant})["key"]
        ch.wait_for(lambda: self.keyed("n2", secret).call("GET", "/collections").status == 200,
                    f"the key of tenant {tenant} on n2")
        return secret

    def names(self, client):
        return sorted(c["name"] for c in client.ok("GET", "/collections")["collections"])

    def test_tenants_across_nodes(self):
        acme, bob = self.tenant_key("acme"), self.tenant_key("bob")
        a1, a2, b1, b2 = (self.keyed("n1", acme), self.keyed("n2", acme), self.keyed("n1", bob),
                          self.keyed("n2", bob))
        a1.ok("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 4})
        b2.ok("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2})
        a1.ok("PUT", "/collections/docs/points?wait=true",
              {"points": [{"id": i, "vector": VEC, "payload": {"owner": "acme"}} for i in range(20)]})
        b2.ok("PUT", "/collections/docs/points?wait=true",
              {"points": [{"id": i, "vector": VEC, "payload": {"owner": "bob"}} for i in range(5)]})
        self.client("n1").ok("PUT", "/collections/shared", {"vectors": {"size": 4, "distance": "Dot"}})

        # Each node serves each tenant its own `docs`, whichever node holds the shards.
        for a, b in ((a1, b1), (a2, b2)):
            ch.wait_for(lambda: self.names(a) == ["docs"] and self.names(b) == ["docs"], "each tenant's listing")
            self.assertEqual(a.ok("POST", "/collections/docs/points/count", {"exact": True})["count"], 20)
            self.assertEqual(b.ok("POST", "/collections/docs/points/count", {"exact": True})["count"], 5)
            hits = a.ok("POST", "/collections/docs/points/query", {"query": VEC, "limit": 50, "with_payload": True})
            self.assertEqual({p["payload"]["owner"] for p in hits["points"]}, {"acme"})
            for other in ("shared", "bob~docs", "nothing"):
                r = a.call("POST", f"/collections/{other}/points/count", {})
                self.assertEqual(r.status, 404, r.describe())
        self.assertEqual(self.names(self.client("n2")), ["acme~docs", "bob~docs", "shared"])
        info = a2.call("GET", "/collections/docs/cluster")
        self.assertEqual(info.status, 200, info.describe())
        self.assertNotIn("acme~", info.raw.decode(), info.describe())
        self.assertEqual(b2.call("GET", "/collections/secret/cluster").status, 404)
        # Node-wide routes stay closed to tenants on every node.
        self.assertEqual(a2.call("GET", "/cluster").status, 403)

        # An alias made on n2 is acme's on n1 too.
        a2.ok("POST", "/collections/aliases",
              {"actions": [{"create_alias": {"alias_name": "current", "collection_name": "docs"}}]})
        ch.wait_for(lambda: a1.call("POST", "/collections/current/points/count", {}).status == 200, "the alias on n1")
        self.assertEqual(b1.call("POST", "/collections/current/points/count", {}).status, 404)

        # A forced delete on n1 removes bob's collections for every node; acme's stay.
        self.assertEqual(self.client("n1").call("DELETE", "/vjvector/tenants/bob").status, 409)
        gone = self.client("n1").ok("DELETE", "/vjvector/tenants/bob?force=true")
        self.assertEqual(gone["deleted_collections"], ["docs"])
        ch.wait_for(lambda: self.names(self.client("n2")) == ["acme~docs", "shared"], "bob's collections gone on n2")
        ch.wait_for(lambda: b2.call("GET", "/collections").status == 401, "bob's key refused on n2")
        self.assertEqual(a2.ok("POST", "/collections/docs/points/count", {"exact": True})["count"], 20)


if __name__ == "__main__":
    vh.main()
