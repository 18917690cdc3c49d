"""text: strings and dicts. Generates a text, counts its words, writes the
counts as JSON and parses the JSON back, all in pure Python (the parser
walks the string a character at a time).

run(n) processes n words; the hot line runs once per word, n times.
"""
WORDS = ("the quick brown fox jumps over lazy dog while seven wizards quietly "
         "hex jumbled boxing judges vexed by pack of liquor jugs sphinx black "
         "quartz judge my vow how razorback jumping frogs can level six piqued "
         "gymnasts").split()
PUNCT = ["", "", "", ",", ".", ";", "!", "?"]
CHUNK = 100


def make_text(n, seed=12345):
    words = []
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF       # a fixed LCG: same text everywhere
        w = WORDS[x % len(WORDS)]
        if x & 0x100:
            w = w.capitalize()
        words.append(w + PUNCT[(x >> 9) % len(PUNCT)])
    return " ".join(words)


def count_words(text):
    counts = {}
    for word in text.split():
        word = word.strip(".,;:!?").lower()  # hot
        counts[word] = counts.get(word, 0) + 1
    return counts


def to_json(obj):
    parts = []
    for key in sorted(obj):
        parts.append('"%s": %d' % (key.replace('"', '\\"'), obj[key]))
    return "{" + ", ".join(parts) + "}"


def parse_json(s):
    """Parses a flat JSON object of string keys and integer values."""
    i = 0
    n = len(s)
    out = {}
    while s[i] != "{":
        i += 1
    i += 1
    while i < n:
        c = s[i]
        if c == '"':
            j = i + 1
            buf = []
            while s[j] != '"':
                if s[j] == "\\":
                    j += 1
                buf.append(s[j])
                j += 1
            key = "".join(buf)
            i = j + 1
            while s[i] in " :":
                i += 1
            j = i
            while s[j].isdigit():
                j += 1
            out[key] = int(s[i:j])
            i = j
        elif c == "}":
            break
        else:
            i += 1
    return out


def run(n):
    words = make_text(n).split(" ")
    total = {}
    # Many small documents: each slice of CHUNK words is counted, written as
    # JSON, parsed back and merged.
    for start in range(0, n, CHUNK):
        doc = to_json(count_words(" ".join(words[start:start + CHUNK])))
        for word, c in parse_json(doc).items():
            total[word] = total.get(word, 0) + c
    return total


def expected_hot(n):
    return n
