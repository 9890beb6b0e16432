#!/usr/bin/env node
// Encodes a text file with a tokenizer.json through Hugging Face's own implementation (the `tokenizers` npm
// package: the Rust library's official Node binding) and prints, as JSON, the ids and the decoded text.
// MiniGpt's tests compare its ids with outputs of this script committed under
// tests/MiniGpt.Tests/Fixtures/hf_tokenizer/ (CI has no npm, so they are goldens).
//
// Usage (the package is resolved from the current folder, so run it where `tokenizers` is installed):
//   mkdir -p /tmp/hftok && cd /tmp/hftok && npm init -y && npm install tokenizers
//   node /path/to/MiniGpt/scripts/check_hf_tokenizer.mjs tokenizer.json text.txt [--golden]
//
// Output: {"tokenizers": version, "tokenizer_sha256", "text_sha256", "ids", "decoded", "round_trip"}.
// --golden leaves out "decoded" (the text itself) and exits 1 unless decoding gives the text back: the form
// of the fixtures. To remake them, let the tests write the files they hash, then run this on each:
//   MINIGPT_HF_FIXTURE_OUT=/tmp/hf dotnet test tests/MiniGpt.Tests --filter "FullyQualifiedName~Formats.HfTokenizer"
//   for c in char cl100k_base o200k_base gpt2_small tiktoken_small; do
//     node check_hf_tokenizer.mjs /tmp/hf/$c.tokenizer.json /tmp/hf/$c.txt --golden \
//       > /path/to/MiniGpt/tests/MiniGpt.Tests/Fixtures/hf_tokenizer/$c.golden.json
//   done
//   cp /tmp/hf/char.tokenizer.json /path/to/MiniGpt/tests/MiniGpt.Tests/Fixtures/hf_tokenizer/char.tokenizer.json

import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const golden = args.includes("--golden");
const [tokenizerPath, textPath] = args.filter((a) => a !== "--golden");
if (!tokenizerPath || !textPath) {
  console.error("usage: node check_hf_tokenizer.mjs tokenizer.json text.txt [--golden]");
  process.exit(2);
}

const require = createRequire(join(process.cwd(), "package.json"));
const { Tokenizer } = require("tokenizers");
const version = JSON.parse(readFileSync(require.resolve("tokenizers/package.json"), "utf8")).version;

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const textBytes = readFileSync(textPath);
const text = textBytes.toString("utf8");

const tokenizer = Tokenizer.fromFile(tokenizerPath);
// No post-processor template may add tokens: MiniGpt's ids are the text's alone.
const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
const ids = encoding.getIds();
// Special tokens stay: MiniGpt decodes them as their text.
const decoded = await tokenizer.decode(ids, false);

const result = {
  tokenizers: version,
  tokenizer_sha256: sha256(readFileSync(tokenizerPath)),
  text_sha256: sha256(textBytes),
  ids,
  ...(golden ? {} : { decoded }),
  round_trip: decoded === text,
};
// One id array on one line keeps the goldens small.
process.stdout.write(JSON.stringify(result) + "\n");
if (golden && !result.round_trip) process.exit(1);
