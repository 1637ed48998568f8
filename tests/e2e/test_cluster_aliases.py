"""End-to-end: collection aliases in a cluster live in etcd (<prefix>/aliases) beside the collection
configs. Aliases made on one node are served by every node within the view's bound (a watch, or a re-read
at least once a second; SPREAD_S here), a switch made on n2 is followed by n1 and n3, deleting a collection
on n3 drops its aliases everywhere, and an alias never takes a collection's name (nor the reverse) even
when the two are made on different nodes. Delays are printed.
"""

import time

import cluster_harness as ch

SPREAD_S = 5.0  # generous against a slow machine; the view's own bound is about one second
VEC = [1.0, 0.0, 0.0, 0.0]


class ClusterAliasesTest(ch.ClusterTestCase):
    def aliases(self, name):
        return sorted((a["alias_name"], a["collection_name"]) for a in self.client(name).ok("GET", "/aliases")["aliases"])

    def wait_generation(self, name, alias, generation, what):
        """Polls until a query through `alias` on node `name` answers from `generation`; returns the delay."""
        start = time.monotonic()
        last = None
        while time.monotonic() - start < SPREAD_S:
            r = self.client(name).call("POST", f"/collections/{alias}/points/query",
                                       {"query": VEC, "limit": 1, "with_payload": True})
            if r.status == 200 and r.json["result"]["points"]:
                last = r.json["result"]["points"][0]["payload"]["generation"]
                if last == generation:
                    delay = time.monotonic() - start
                    print(f"  {what} on {name}: {delay * 1000:.0f} ms")
                    return delay
            else:
                last = r.describe()
            time.sleep(0.02)
        self.fail(f"{what} on {name}: still {last} after {SPREAD_S} s")

    def test_aliases_made_on_one_node_are_served_by_every_node(self):
        c1 = self.client("n1")
        for gen in ("v1", "v2"):
            c1.ok("PUT", f"/collections/{gen}", {"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2,
                                                 "replication_factor": 2})
            c1.ok("PUT", f"/collections/{gen}/points?wait=true",
                  {"points": [{"id": i, "vector": VEC, "payload": {"generation": gen}} for i in range(1, 5)]})
        self.assertIs(c1.ok("POST", "/collections/aliases",
                            {"actions": [{"create_alias": {"collection_name": "v1", "alias_name": "prod"}}]}), True)
        for name in ("n1", "n2", "n3"):
            self.wait_generation(name, "prod", "v1", "new alias served")
        ch.wait_for(lambda: self.aliases("n3") == [("prod", "v1")] or self.aliases("n3"), "n3 lists the alias",
                    timeout=SPREAD_S)
        self.assertEqual(self.aliases("n3"), [("prod", "v1")])
        # A switch made on n2, in one action list.
        self.client("n2").ok("POST", "/collections/aliases", {"actions": [
            {"delete_alias": {"alias_name": "prod"}},
            {"create_alias": {"collection_name": "v2", "alias_name": "prod"}}]})
        for name in ("n2", "n1", "n3"):
            self.wait_generation(name, "prod", "v2", "switched alias served")
        # Names: an alias made on n1 blocks a collection of that name on n3, and the reverse.
        self.client("n3").err("PUT", "/collections/prod", {"vectors": {"size": 4, "distance": "Dot"}}, status=409,
                              mentions="alias")
        self.client("n3").err("POST", "/collections/aliases", {"actions": [
            {"create_alias": {"collection_name": "v2", "alias_name": "v1"}}]}, status=409, mentions="v1")
        # A failing action list changes nothing on any node.
        self.client("n2").err("POST", "/collections/aliases", {"actions": [
            {"create_alias": {"collection_name": "v1", "alias_name": "other"}},
            {"delete_alias": {"alias_name": "missing"}}]}, status=404, mentions="actions[1]")
        for name in ("n1", "n2", "n3"):
            self.assertEqual(self.aliases(name), [("prod", "v2")], name)
        # Deleting the collection on n3 drops its aliases everywhere.
        self.assertIs(self.client("n3").ok("DELETE", "/collections/v2"), True)
        for name in ("n1", "n2", "n3"):
            ch.wait_for(lambda n=name: self.aliases(n) == [] or self.aliases(n),
                        f"{name} drops the aliases of a deleted collection", timeout=SPREAD_S)
            self.assertEqual(self.aliases(name), [])
        self.assertIs(self.client("n1").ok("DELETE", "/collections/v2"), False)


if __name__ == "__main__":
    import vjharness as vh
    vh.main()
