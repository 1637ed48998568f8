#!/usr/bin/python3
"""Cross-checks VJVector's BM25 encoder (src/text/bm25.h) against Xapian's BM25 on a Debian-shipped corpus.

Documents: the paragraphs of /usr/share/common-licenses (Debian's license texts). Our side re-implements
the encoder in Python (word split, lowercase, the built-in English stop words, Snowball English stems,
tokens over 40 code points dropped, MurmurHash3 token indexes, document weight
tf*(k+1)/(tf+k*(1-b+b*len/avg_len)), query weight 1) and scores with Qdrant's idf modifier
ln(1 + (N - n + 0.5) / (n + 0.5)); the re-implementation is first checked against the vectors the C++
unit test asserts (bm25_test.cc). Xapian: python3-xapian (Debian), BM25Weight with the same k1 and b.
Two comparisons per query, top-10 overlap and whether the first hit agrees:
  same-tokens: Xapian indexes our tokens, so only the scoring formulas differ;
  xapian-own:  Xapian's TermGenerator/QueryParser analyse the text themselves (their tokenizer, their
               stemming of the same Snowball algorithm, no stop words).
Usage: /usr/bin/python3 bench/bm25_xapian_check.py   (standard library + python3-xapian; prints, asserts nothing)
"""

import collections
import glob
import math
import os
import re
import struct
import sys
import tempfile

import xapian

K1, B = 1.2, 0.75
STEM = xapian.Stem("english")
# Must equal src/text/stopwords.cc (English()).
STOPWORDS = set("""a about above after again against ain all am an and any are aren aren't as at be because been
before being below between both but by can couldn couldn't d did didn didn't do does doesn doesn't doing don don't
down during each few for from further had hadn hadn't has hasn hasn't have haven haven't having he her here hers
herself him himself his how i if in into is isn isn't it it's its itself just ll m ma me mightn mightn't more most
mustn mustn't my myself needn needn't no nor not now o of off on once only or other our ours ourselves out over own
re s same shan shan't she she's should should've shouldn shouldn't so some such t than that that'll the their
theirs them themselves then there these they this those through to too under until up ve very was wasn wasn't we
were weren weren't what when where which while who whom why will with won won't wouldn wouldn't y you you'd you'll
you're you've your yours yourself yourselves""".split())
QUERIES = ["warranty", "source code", "patent license", "copyright notice", "free software foundation",
           "merchantability fitness particular purpose", "derivative works", "trademark", "liability damages",
           "distribute modified versions", "object code", "termination", "sublicense", "network server",
           "library linking"]


def murmur3_32(data, seed=0):
    c1, c2 = 0xcc9e2d51, 0x1b873593
    h = seed
    n = len(data) // 4
    for i in range(n):
        k = struct.unpack_from("<I", data, i * 4)[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xe6546b64) & 0xFFFFFFFF
    tail = data[n * 4:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85ebca6b) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def token_index(token):
    return abs(murmur3_32(token.encode()))


def tokens(text):
    out = []
    for w in re.split(r"[\W_]+", text):
        w = w.lower()
        if not w or len(w) > 40 or w in STOPWORDS:
            continue
        out.append(STEM(w.encode()).decode())
    return out


def encode_document(text, avg_len):
    toks = tokens(text)
    tf = collections.Counter(token_index(t) for t in toks)
    norm = K1 * (1 - B + B * len(toks) / avg_len)
    return {i: c * (K1 + 1) / (c + norm) for i, c in tf.items()}


def self_check():
    """The vectors src/text/bm25_test.cc asserts for the C++ encoder."""
    assert murmur3_32(b"foo") == -156908512 and murmur3_32(b"hello") == 613153351 and murmur3_32(b"") == 0
    assert token_index("foo") == 156908512
    assert tokens("The cats and the cat running") == ["cat", "cat", "run"], tokens("The cats and the cat running")
    v = encode_document("The cats and the cat running", 256.0)
    assert abs(v[token_index("cat")] - 1.9043111) < 1e-6 and abs(v[token_index("run")] - 1.6786885) < 1e-6, v
    assert tokens("x" * 41) == [] and len(tokens("x" * 40)) == 1


def corpus():
    docs = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.islink(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for para in re.split(r"\n\s*\n", f.read()):
                if len(tokens(para)) >= 5:
                    docs.append(para.strip())
    return docs


def encode_corpus(docs):
    """Document vectors with avg_len set to the corpus' mean token count (Xapian uses the real mean)."""
    lens = [len(tokens(d)) for d in docs]
    avg_len = sum(lens) / len(lens)
    return [encode_document(d, avg_len) for d in docs]


def top10_ours(vecs, query):
    df = collections.Counter(i for v in vecs for i in v)
    n = len(vecs)
    q = set(token_index(t) for t in tokens(query))
    scores = []
    for d, v in enumerate(vecs):
        s = sum(math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) * v[i] for i in q if i in v)
        if s > 0:
            scores.append((-s, d))
    return [d for _, d in sorted(scores)[:10]]


def xapian_db(docs, own_analysis):
    db = xapian.inmemory_open() if hasattr(xapian, "inmemory_open") else xapian.WritableDatabase(
        "", xapian.DB_BACKEND_INMEMORY)
    tg = xapian.TermGenerator()
    tg.set_stemmer(STEM)
    for d in docs:
        doc = xapian.Document()
        if own_analysis:
            tg.set_document(doc)
            tg.index_text(d)
        else:
            for t in tokens(d):
                doc.add_term(t)
        db.add_document(doc)
    return db


def top10_xapian(db, query, own_analysis):
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BM25Weight(K1, 0, 1, B, 0.5))
    if own_analysis:
        qp = xapian.QueryParser()
        qp.set_stemmer(STEM)
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        qp.set_default_op(xapian.Query.OP_OR)
        q = qp.parse_query(query)
    else:
        q = xapian.Query(xapian.Query.OP_OR, list(set(tokens(query))))
    enquire.set_query(q)
    return [m.docid - 1 for m in enquire.get_mset(0, 10)]


def main():
    self_check()
    docs = corpus()
    print(f"corpus: {len(docs)} paragraphs of /usr/share/common-licenses; python re-implementation matches "
          f"the C++ unit-test vectors")
    dbs = {own: xapian_db(docs, own) for own in (False, True)}
    vecs = encode_corpus(docs)
    totals = {False: [0, 0], True: [0, 0]}
    print(f"{'query':44} {'same-tokens top10/top1':>24} {'xapian-own top10/top1':>24}")
    for query in QUERIES:
        ours = top10_ours(vecs, query)
        row = []
        for own in (False, True):
            theirs = top10_xapian(dbs[own], query, own)
            overlap = len(set(ours) & set(theirs))
            top1 = bool(ours and theirs and ours[0] == theirs[0])
            totals[own][0] += overlap
            totals[own][1] += top1
            row.append(f"{overlap:>2}/10 {'yes' if top1 else 'no':>3}")
        print(f"{query:44} {row[0]:>24} {row[1]:>24}")
    nq = len(QUERIES)
    for own, name in ((False, "same-tokens"), (True, "xapian-own")):
        print(f"{name}: mean top-10 overlap {totals[own][0] / nq:.1f}/10, top-1 agreement {totals[own][1]}/{nq}")


if __name__ == "__main__":
    sys.exit(main())
