"""End-to-end: requests found by the fuzz targets (fuzz/) get a proper answer from the real server."""

import vjharness as vh


class FuzzFindingsTest(vh.ServerTestCase):

    def test_error_body_is_json_when_the_path_is_not_utf8(self):
        # fuzz_query: the error message quoted the percent-decoded path segment verbatim, so bytes that are
        # not UTF-8 made the error body invalid JSON. They now come back as U+FFFD.
        self.client.create_collection("c", size=2, distance="Dot")
        r = self.client.err("GET", "/collections/c/points/12%FF%FE", status=400, mentions="id")
        self.assertIn("12\ufffd\ufffd", r.error)
        for segment in ("%E2%82", "%ED%A0%80", "%C0%AF", "%F4%90%80%80"):
            self.client.err("GET", "/collections/c/points/" + segment, status=400)
        r = self.client.err("GET", "/collections/x%C3%28y", status=404)
        self.assertIn("x\ufffd(y", r.error)
        # Valid UTF-8 is quoted as it was sent.
        r = self.client.err("GET", "/collections/caf%C3%A9", status=404)
        self.assertIn("caf\u00e9", r.error)
        self.assertEqual(self.client.count("c"), 0)


if __name__ == "__main__":
    vh.main()
