using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

/// <summary>Every kind of bad document is named by file and line or row group, or skipped and counted when asked.</summary>
public class BadDocumentTests
{
    const int Cl100kEndOfText = 100257;

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"body\": \"x\"}", "line 2", "no field \"text\"")]
    [InlineData("{\"text\": \"ok\"}\n\n{\"text\": 42}", "line 3", "field \"text\" is a number, not a string")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": null}", "line 2", "field \"text\" is null, not a string")]
    [InlineData("[\"text\"]\n{\"text\": \"ok\"}", "line 1", "an array, not an object")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"cut", "line 2", "malformed JSON")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"a\\ud800b\"}", "line 2", "field \"text\" holds a lone surrogate")]
    public void JsonLines_BadLine_IsNamed_OrSkipped(string content, string where, string problem)
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.jsonl", content + "\n{\"text\": \"more\"}\n");
        // char reads the corpus twice (its vocabulary first), BPE once, checking as it encodes
        foreach (var tok in new[] { TokenizerKind.Char, TokenizerKind.Cl100kBase })
        {
            var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File($"a-{tok}"), tokenizer: tok));
            Assert.Equal((corpus, where), (ex.Path, ex.Where));
            Assert.StartsWith($"{corpus}: {where}: {problem}", ex.Message);
            Assert.False(Directory.Exists(dir.File($"a-{tok}")), "a failed prepare leaves no folder it made");
            var meta = Prepare(corpus, dir.File($"b-{tok}"), skip: true, tokenizer: tok);
            Assert.Equal((2L, 1L), (meta.Documents, meta.SkippedDocuments));
        }
    }

    [Fact]
    public void JsonLines_AreReadAsJsonDocumentReadsThem()
    {
        // Read token by token; the oracle is System.Text.Json's document model, as the lines were read before.
        string[] lines =
        [
            "{\"text\": \"plain\"}", "{\"text\": \"a\", \"text\": \"the last wins\"}", "{\"te\\u0078t\": \"escaped key\"}",
            "{\"meta\": {\"text\": \"nested, not ours\"}, \"text\": \"ours\"}", "{\"meta\": {\"text\": \"nested only\"}}",
            "{\"text\": \"esc \\n \\u00e9 \\ud83d\\ude00\"}", "{\"text\": [\"no\"]}", "{\"text\": {}}", "{\"text\": true}", "{\"text\": 1.5e3}",
            "{\"text\": null}", "[1, 2]", "\"just a string\"", "42", "null", "{\"text\": \"x\"} trailing", "{\"text\": \"x\"}{\"text\": \"y\"}",
            "{\"text\": \"x\",}", "{text: \"x\"}", "   ", "{\"text\": \"x\"", "[1, 2", "{}",
        ];
        using var dir = new TempDir();
        var corpus = CorpusFiles.JsonLines(dir.File("c.jsonl"), lines);
        var read = Documents.Read([corpus], "text", replaceInvalidUtf8: false, skipBad: true).ToList();
        Assert.Equal(lines.Length, read.Count);   // spaces alone are a line, and a malformed document
        for (int i = 0; i < lines.Length; i++)
        {
            var problem = read[i].Problem is { } p && p.StartsWith("malformed JSON") ? "malformed JSON" : read[i].Problem;
            Assert.Equal((lines[i], Expected(lines[i])), (lines[i], (read[i].Text, problem)));
        }

        static (string?, string?) Expected(string line)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != System.Text.Json.JsonValueKind.Object) return (null, $"{Kind(root.ValueKind)}, not an object");
                if (!root.TryGetProperty("text", out var v)) return (null, "no field \"text\"");
                return v.ValueKind == System.Text.Json.JsonValueKind.String ? (v.GetString(), null) : (null, $"field \"text\" is {Kind(v.ValueKind)}, not a string");
            }
            catch (System.Text.Json.JsonException) { return (null, "malformed JSON"); }
        }
        static string Kind(System.Text.Json.JsonValueKind k) => k switch
        {
            System.Text.Json.JsonValueKind.Null => "null", System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "a boolean",
            System.Text.Json.JsonValueKind.Array => "an array", System.Text.Json.JsonValueKind.Object => "an object",
            System.Text.Json.JsonValueKind.Number => "a number", _ => "a string",
        };
    }

    [Fact]
    public void JsonLines_InManyBatches_AreNamedByTheirLines_WhateverTheNumberOfWorkers()
    {
        // Batches of a few lines each (ChunkBytes), parsed on whichever thread encodes them: a bad line is still named
        // by its number in the file, blank and CRLF-ended lines counted, and the first bad line is the one reported.
        var lines = Enumerable.Range(1, 300).Select(n => n switch
        {
            _ when n % 37 == 0 => "",
            _ when n % 11 == 0 => $"{{\"text\": \"crlf {n}\"}}\r",
            _ => $"{{\"text\": \"line {n} é 😀\"}}",
        }).ToArray();
        lines[150 - 1] = "{\"body\": \"no text\"}";
        lines[151 - 1] = "{\"text\": 7}";
        lines[260 - 1] = "{\"text\": \"cut";
        using var dir = new TempDir();
        var corpus = CorpusFiles.JsonLines(dir.File("c.jsonl"), lines);
        var good = Enumerable.Range(1, 300).Where(n => n % 37 != 0 && n is not (150 or 151 or 260)).ToList();
        foreach (var workers in new[] { 1, 2, 3 })
        {
            var o = new PrepareOptions(corpus, TokenizerKind.Cl100kBase, dir.File($"a{workers}"), ValFraction: 0.4, Workers: workers, ChunkBytes: 100);
            var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(o));
            Assert.Equal($"{corpus}: line 150: no field \"text\"", ex.Message);
            var meta = CorpusPreparer.Prepare(o with { OutDir = dir.File($"b{workers}"), SkipBadDocuments = true });
            Assert.Equal((good.Count, 3L), ((int?)meta.Documents, meta.SkippedDocuments));
            using var cache = TokenCache.Open(dir.File($"b{workers}"));
            var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
            var ids = cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i).ToList();
            Assert.Equal(good.SelectMany(n => tok.Encode(n % 11 == 0 ? $"crlf {n}" : $"line {n} é 😀").Append(Cl100kEndOfText)), ids);
        }
        // char's two passes, each on every worker: the first counts and checks, the second encodes what the first let pass.
        var texts = good.Select(n => n % 11 == 0 ? $"crlf {n}" : $"line {n} é 😀").ToList();
        int train = texts.Count - (int)Math.Ceiling(0.4 * texts.Count);
        foreach (var workers in new[] { 1, 2, 3 })
        {
            var o = new PrepareOptions(corpus, TokenizerKind.Char, dir.File($"c{workers}"), ValFraction: 0.4, Workers: workers, ChunkBytes: 100, DocSeparator: "|");
            var reports = new List<PrepareProgress>();
            var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(o, new DocumentCorpusTests.Collect(reports)));
            Assert.Equal($"{corpus}: line 150: no field \"text\"", ex.Message);
            // Found by the first pass, which stops there: it does not finish, and the second does not begin.
            Assert.DoesNotContain(reports, r => r.Phase == PreparePhase.Encode || r.BytesDone == r.BytesTotal);
            var meta = CorpusPreparer.Prepare(o with { OutDir = dir.File($"d{workers}"), SkipBadDocuments = true });
            Assert.Equal((good.Count, texts.Count - train, 3L), ((int?)meta.Documents, (int?)meta.ValDocuments, meta.SkippedDocuments));
            Assert.Equal((string.Join("|", texts[..train]), string.Join("|", texts[train..])), Decoded(dir.File($"d{workers}")));
            // The split just after lines 150 and 151, skipped in the same batch: 145 good lines come before them.
            var after = o with { OutDir = dir.File($"e{workers}"), SkipBadDocuments = true, ValDocuments = texts.Count - 145 };
            CorpusPreparer.Prepare(after);
            Assert.Equal((string.Join("|", texts[..145]), string.Join("|", texts[145..])), Decoded(after.OutDir));
            Assert.StartsWith("line 152 ", texts[145]);
        }
        var read = Documents.Read([corpus], "text", replaceInvalidUtf8: false, skipBad: true).Where(d => d.Problem is not null).Select(d => d.Where);
        Assert.Equal(["line 150", "line 151", "line 260"], read);

        static (string Train, string Val) Decoded(string dir)
        {
            using var cache = TokenCache.Open(dir);
            return (cache.Tokenizer.Decode(cache.Train.ReadAll().Select(i => (int)i)), cache.Tokenizer.Decode(cache.Val.ReadAll().Select(i => (int)i)));
        }
    }

    [Fact]
    public void ABadLine_IsReported_BeforeAReadingErrorInALaterFile_WhateverTheNumberOfWorkers()
    {
        // Lines are parsed on the encoding threads, while reading goes on: a later file that cannot be read (a run
        // too long to cut) must not hide the bad line before it, which a batch still in flight holds.
        using var dir = new TempDir();
        CorpusFiles.JsonLines(dir.File("c/a.jsonl"), Enumerable.Range(0, 50).Select(i => i == 10 ? "{\"body\": 1}" : $"{{\"text\": \"doc {i}\"}}"));
        File.WriteAllText(dir.File("c/b.txt"), new string('a', 200_000));
        foreach (var tokenizer in new[] { TokenizerKind.Cl100kBase, TokenizerKind.Char })   // char: in its first pass
            foreach (var workers in new[] { 1, 2, 3 })
            {
                var o = new PrepareOptions(dir.File("c"), tokenizer, dir.File($"out{tokenizer}{workers}"), Workers: workers, MaxUncutChars: 1 << 15);
                var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(o));
                Assert.Equal($"{dir.File("c/a.jsonl")}: line 11: no field \"text\"", ex.Message);
            }
    }

    [Fact]
    public void JsonLineBatches_MadeAfterTheFileIsRead_HoldTheirOwnLines()
    {
        // Workers parse a batch while the reader has moved on: each batch keeps a copy of its lines, however long
        // (lines longer than the reader's first buffer of 64 KB make it grow and move).
        var lines = Enumerable.Range(0, 120).Select(i => i % 40 == 7 ? new string((char)('a' + i % 26), 100_000 + i) : $"doc {i} {Guid.NewGuid()}")
            .Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })).ToArray();
        using var dir = new TempDir();
        var corpus = CorpusFiles.JsonLines(dir.File("c.jsonl"), lines);
        var batches = Documents.ReadBatches([corpus], "text", replaceInvalidUtf8: false, batchChars: 500).ToList();
        Assert.True(batches.Count > 10, $"{batches.Count} batches");
        var made = Enumerable.Reverse(batches).Select(b => b.Make()).Reverse().SelectMany(d => d).ToList();
        Assert.Equal(Documents.Read([corpus], "text", false, skipBad: false).Select(d => (d.Text, d.Where)), made.Select(d => (d.Text, d.Where)));
        Assert.Equal(lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()), made.Select(d => d.Text));
    }

    [Fact]
    public void InvalidUtf8InAJsonLine_IsNamed()
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.jsonl");
        File.WriteAllBytes(corpus, [.. Encoding.UTF8.GetBytes("{\"text\": \"ok\"}\n{\"text\": \"a"), 0xFF, .. Encoding.UTF8.GetBytes("\"}\n")]);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.Equal($"{corpus}: line 2: invalid UTF-8", ex.Message);
    }

    [Fact]
    public void ALoneSurrogateEscape_IsReplaced_WhenInvalidTextIs()
    {
        // JSON can escape half of a surrogate pair alone (web text holds them); no Unicode string can.
        string[] lines = ["{\"text\": \"a\\ud800b\"}", "{\"text\": \"\\udc00\\ud83d\\ude00 \\n\\\"\\\\\\/\\t\\u00e9 \\ud83d\"}", "{\"text\": \"\\ud800\", \"text\": \"the last wins\"}"];
        using var dir = new TempDir();
        var corpus = CorpusFiles.JsonLines(dir.File("c.jsonl"), lines);
        var read = Documents.Read([corpus], "text", replaceInvalidUtf8: true, skipBad: false).Select(d => d.Text).ToList();
        Assert.Equal(["a\uFFFDb", "\uFFFD😀 \n\"\\/\té \uFFFD", "the last wins"], read);
    }

    [Fact]
    public void CorruptGzip_IsNamed_OrSkipsItsFile()
    {
        using var dir = new TempDir();
        var lines = string.Join("\n", Enumerable.Range(0, 2000).Select(i => $"{{\"text\": \"document {i} {Guid.NewGuid()}\"}}"));
        var corpus = CorpusFiles.Gzip(dir.File("c/c.jsonl.gz"), lines);
        CorpusFiles.Texts(dir.File("c/b.jsonl"), "one", "two");
        var bytes = File.ReadAllBytes(corpus);
        bytes[10] = 0xFF;   // the first deflate block's header: a reserved block type
        File.WriteAllBytes(corpus, bytes);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(dir.File("c"), dir.File("a")));
        Assert.Equal($"{corpus}: line 1: corrupt gzip stream (", ex.Message[..(corpus.Length + 31)]);
        var meta = Prepare(dir.File("c"), dir.File("b"), skip: true);
        Assert.Equal((2L, 1L), (meta.Documents, meta.SkippedDocuments));
    }

    [Fact]
    public void TruncatedGzip_IsNamedWhereItIsCut_NotReadAsAShorterFile()
    {
        using var dir = new TempDir();
        // Two members, as `cat a.gz b.gz` makes: whole, the file is every line of both.
        byte[] first = GzipBytes("{\"text\": \"one\"}\n{\"text\": \"two\"}\n"), second = GzipBytes("{\"text\": \"three\"}\n");
        var whole = dir.File("whole.jsonl.gz");
        File.WriteAllBytes(whole, [.. first, .. second]);
        Assert.Equal(["one", "two", "three"], Documents.Read([whole], "text", false, false).Select(d => d.Text));
        // Cut in the second member's header, the lines decoded end at a '\n': read as a file of two lines before.
        // Cut in its trailer, every line is there but no checksum vouches for them.
        foreach (var (cut, line) in new[] { (first.Length + 5, 3), (first.Length + second.Length - 4, 4), (first.Length - 4, 3) })
        {
            var corpus = dir.File($"cut{cut}.jsonl.gz");
            File.WriteAllBytes(corpus, first.Concat(second).Take(cut).ToArray());
            var ex = Assert.Throws<BadDocumentException>(() => Documents.Read([corpus], "text", false, false).ToList());
            Assert.Equal($"{corpus}: line {line}: corrupt gzip stream (the file ends inside its compressed data, before its last member's checksum: it is truncated)", ex.Message);
            var skipped = Documents.Read([corpus], "text", false, skipBad: true).ToList();
            Assert.Equal([.. new[] { "one", "two", "three" }.Take(line - 1), null], skipped.Select(d => d.Text));
        }
    }

    [Fact]
    public void BytesAfterTheLastGzipMember_AreNamed_NotDroppedSilently()
    {
        // .NET's reader stops at bytes that do not begin a member: a third member with a damaged header lost its
        // documents without a word.
        using var dir = new TempDir();
        byte[] first = GzipBytes("{\"text\": \"one\"}\n{\"text\": \"two\"}\n"), third = GzipBytes("{\"text\": \"three\"}\n");
        third[0] = 0x1e;
        foreach (var tail in new[] { third, Encoding.ASCII.GetBytes("garbage!"), new byte[100] })
        {
            var corpus = dir.File($"c{tail.Length}.jsonl.gz");
            File.WriteAllBytes(corpus, [.. first, .. tail]);
            var ex = Assert.Throws<BadDocumentException>(() => Documents.Read([corpus], "text", false, false).ToList());
            Assert.Equal($"{corpus}: line 3: corrupt gzip stream (bytes follow its last gzip member that do not begin another: trailing data, or a member whose header is damaged)", ex.Message);
            Assert.Equal(["one", "two", null], Documents.Read([corpus], "text", false, skipBad: true).Select(d => d.Text));
        }
    }

    [Fact]
    public void AGzipChecksumThatDoesNotMatch_IsCalledOne()
    {
        using var dir = new TempDir();
        var bytes = GzipBytes("{\"text\": \"one\"}\n{\"text\": \"two\"}\n");
        bytes[^6] ^= 1;   // the CRC-32 before the length
        var corpus = dir.File("c.jsonl.gz");
        File.WriteAllBytes(corpus, bytes);
        var ex = Assert.Throws<BadDocumentException>(() => Documents.Read([corpus], "text", false, false).ToList());
        Assert.Equal($"{corpus}: line 1: corrupt gzip stream (its compressed data does not decode, or a member's checksum or length does not match)", ex.Message);   // read whole at once, and refused before its first line
    }

    static byte[] GzipBytes(string text)
    {
        var m = new MemoryStream();
        using (var gz = new GZipStream(m, CompressionLevel.Optimal)) gz.Write(Encoding.UTF8.GetBytes(text));
        return m.ToArray();
    }

    [Fact]
    public void Parquet_MissingOrNonStringColumn_IsNamed()
    {
        using var dir = new TempDir();
        var other = CorpusFiles.Parquet(dir.File("other.parquet"), "body", ["a", "b"]);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(other, dir.File("a")));
        Assert.Equal($"{other}: the schema: no column \"text\" (it has body)", ex.Message);
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "documents_hyparquet.parquet");
        var ints = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(new PrepareOptions(fixture, TokenizerKind.Char, dir.File("b"), TextField: "id")));
        Assert.Equal($"{fixture}: the schema: column \"id\" holds Int32, not strings", ints.Message);
    }

    [Fact]
    public void Parquet_NullValue_IsNamedByRowGroupAndRow_OrSkipped()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Parquet(dir.File("c.parquet"), "text", ["a", "b"], ["c", null, "e"]);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.Equal($"{corpus}: row group 1, row 1: column \"text\" is null, not a string", ex.Message);
        var meta = Prepare(corpus, dir.File("b"), skip: true);
        Assert.Equal((4L, 1L), (meta.Documents, meta.SkippedDocuments));
    }

    [Fact]
    public void Parquet_InvalidUtf8_IsNamedByRowGroupAndRow_OrReplaced_OrSkipped()
    {
        // Parquet.Net decodes a UTF-8 column's invalid bytes as U+FFFD, silently; the column is read as bytes and checked.
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet");
        var bytes = CraftedParquet.Bytes("text", new CraftedParquet.Group(["ok", "QQab", "fine"]));
        int at = bytes.AsSpan().IndexOf("QQ"u8);
        (bytes[at], bytes[at + 1]) = (0xFF, 0xC0);
        File.WriteAllBytes(corpus, bytes);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.Equal($"{corpus}: row group 0, row 1: invalid UTF-8", ex.Message);
        var replaced = Documents.Read([corpus], "text", replaceInvalidUtf8: true, skipBad: false).Select(d => d.Text).ToList();
        Assert.Equal(["ok", "\uFFFD\uFFFDab", "fine"], replaced);
        var meta = Prepare(corpus, dir.File("b"), skip: true);
        Assert.Equal((2L, 1L), (meta.Documents, meta.SkippedDocuments));
    }

    [Fact]
    public void ParquetRows_InManyBatches_AreNamedByTheirRows_WhateverTheNumberOfWorkers()
    {
        // Rows go to the encoders as their bytes, a few a batch (ChunkBytes), checked and decoded there: a bad row is
        // still named by its group and row, invalid UTF-8 is replaced as Documents.Read replaces it, and the ids are
        // each document's own.
        using var dir = new TempDir();
        var zero = Enumerable.Range(0, 40).Select(i => $"zero {i} é").ToArray();
        var one = Enumerable.Range(0, 60).Select(i => i == 33 ? "QQab" : $"one {i} 😀").ToArray();
        var crafted = CraftedParquet.Bytes("text", new CraftedParquet.Group(zero), new CraftedParquet.Group(one));
        int at = crafted.AsSpan().IndexOf("QQ"u8);
        (crafted[at], crafted[at + 1]) = (0xFF, 0xC0);
        var invalid = dir.File("invalid.parquet");
        File.WriteAllBytes(invalid, crafted);
        var nulls = CorpusFiles.Parquet(dir.File("nulls.parquet"), "text", zero, [.. one[..33], null, .. one[34..]]);
        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        int[] Ids(IEnumerable<string> docs) => docs.SelectMany(d => tok.Encode(d).Append(Cl100kEndOfText)).ToArray();
        string[] others = [.. zero, .. one[..33], .. one[34..]];
        foreach (var workers in new[] { 1, 2, 3 })
            foreach (var (corpus, problem) in new[] { (invalid, "invalid UTF-8"), (nulls, "column \"text\" is null, not a string") })
            {
                var o = new PrepareOptions(corpus, TokenizerKind.Cl100kBase, dir.File($"a{workers}"), ValFraction: 0.4, Workers: workers, ChunkBytes: 40);
                var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(o));
                Assert.Equal($"{corpus}: row group 1, row 33: {problem}", ex.Message);
                var skipped = o with { OutDir = dir.File($"{Path.GetFileName(corpus)}-skip{workers}"), SkipBadDocuments = true };
                var meta = CorpusPreparer.Prepare(skipped);
                Assert.Equal((99, 1L), ((int?)meta.Documents, meta.SkippedDocuments));
                Assert.Equal(Ids(others), AllIds(skipped.OutDir));
            }
        var replaced = new PrepareOptions(invalid, TokenizerKind.Cl100kBase, dir.File("replaced"), ValFraction: 0.4, Workers: 2, ChunkBytes: 40, ReplaceInvalidUtf8: true);
        CorpusPreparer.Prepare(replaced);
        Assert.Equal(Ids([.. zero, .. one[..33], "\uFFFD\uFFFDab", .. one[34..]]), AllIds(replaced.OutDir));

        static int[] AllIds(string dir)
        {
            using var cache = TokenCache.Open(dir);
            return cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i).ToArray();
        }
    }

    [Fact]
    public void Parquet_ARequiredColumn_IsReadAsItsBytes_Too()
    {
        using var dir = new TempDir();
        string[][] groups = [["a", "é😀"], ["c"]];
        var corpus = CorpusFiles.RequiredParquet(dir.File("c.parquet"), "text", groups);
        Assert.Equal(groups.SelectMany(g => g), Documents.Read([corpus], "text", replaceInvalidUtf8: false, skipBad: false).Select(d => d.Text));
    }

    [Fact]
    public void Parquet_CorruptRowGroup_IsNamed_OrSkippedAlone()
    {
        using var dir = new TempDir();
        var texts = Enumerable.Range(0, 200).Select(i => $"row {i} " + new string((char)('a' + i % 26), 50)).ToArray();
        var corpus = CorpusFiles.Parquet(dir.File("c.parquet"), "text", texts[..100], texts[100..]);
        var bytes = File.ReadAllBytes(corpus);
        for (int i = 4; i < 200; i++) bytes[i] = 0xFF;   // the first row group's pages start right after "PAR1"
        File.WriteAllBytes(corpus, bytes);
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.Equal("row group 0", ex.Where);
        Assert.StartsWith($"{corpus}: row group 0: corrupt data (", ex.Message);
        var meta = Prepare(corpus, dir.File("b"), skip: true);
        Assert.Equal((100L, 1L), (meta.Documents, meta.SkippedDocuments));
    }

    [Theory]
    [InlineData(3L, "corrupt data (it claims 3 rows, its column holds 2 values)")]   // read before, its last row was "null"
    [InlineData(int.MaxValue, "corrupt data (it claims 2,147,483,647 rows, its column holds 2 values)")]   // an array of that many: out of memory
    public void Parquet_ARowCountItsColumnDoesNotHold_IsCorrupt(long rows, string problem)
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet");
        File.WriteAllBytes(corpus, CraftedParquet.Bytes("text", new CraftedParquet.Group(["a", "b"], Rows: rows), new CraftedParquet.Group(["c", "d"])));
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.Equal($"{corpus}: row group 0: {problem}", ex.Message);
        var meta = Prepare(corpus, dir.File("b"), skip: true);
        Assert.Equal((2L, 1L), (meta.Documents, meta.SkippedDocuments));
    }

    [Fact]
    public void Parquet_ARowGroupOfMoreRowsThanAreHeldAtOnce_IsNamed_BeforeItIsRead()
    {
        // 172 bytes, and a true file: two strings, then one run of 99,999,998 nulls. Read, it took 1.2 GB to find the first null.
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet");
        File.WriteAllBytes(corpus, CraftedParquet.Bytes("text", new CraftedParquet.Group(["a", "b"], NullsAfter: 100_000_000 - 2)));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<BadDocumentException>(() => Documents.Read([corpus], "text", replaceInvalidUtf8: false, skipBad: false).ToList());
        Assert.Equal($"{corpus}: row group 0: 100,000,000 rows, more than the 67,108,864 MiniGpt holds at once (write the file with smaller row groups)", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the rows were not read");
    }

    [Fact]
    public void Parquet_APageLargerThanMemory_IsCorruptData_NotAnInternalError()
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet");
        File.WriteAllBytes(corpus, CraftedParquet.Bytes("text", new CraftedParquet.Group(["a", "b"], PageUncompressedSize: int.MaxValue)));
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.StartsWith($"{corpus}: row group 0: corrupt data (a size in it needs more memory than there is: ", ex.Message);
    }

    [Fact]
    public void Parquet_ASchemaParquetNetCannotMake_IsNamed()
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet");
        var rootAlone = new CraftedParquet.Struct().Str(4, "schema").I32(5, 0);   // a schema of no columns
        var footer = new CraftedParquet.Struct().I32(1, 1).List(2, 12, rootAlone).I64(3, 0).List(4, 12).End();
        File.WriteAllBytes(corpus, CraftedParquet.WithFooter([], footer));
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.StartsWith($"{corpus}: the schema: not readable (", ex.Message);
    }

    [Fact]
    public void NotAParquetFile_IsNamed()
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.parquet", "these are not the bytes of a Parquet file");
        var ex = Assert.Throws<BadDocumentException>(() => Prepare(corpus, dir.File("a")));
        Assert.StartsWith($"{corpus}: the whole file: not a readable Parquet file (", ex.Message);
    }

    [Fact]
    public void JsonLine_LongerThanTheLimit_IsNamed_OrSkipsItsFile()
    {
        using var dir = new TempDir();
        const int limit = 1 << 17;   // 128 KB here; 512 MB by default, which a test cannot afford to write
        // {"text":"…"} is 11 bytes around its text: line 2 is the longest allowed, line 4 one byte more.
        var corpus = CorpusFiles.Texts(dir.File("c/a.jsonl"), "one", new string('x', limit - 11), "three", new string('y', limit - 10), "five");
        CorpusFiles.Texts(dir.File("c/b.jsonl"), "six");
        var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(
            new PrepareOptions(dir.File("c"), TokenizerKind.Char, dir.File("a"), MaxLineBytes: limit)));
        Assert.Equal($"{corpus}: line 4: a line of more than 131,072 bytes", ex.Message);
        Assert.False(Directory.Exists(dir.File("a")));
        var meta = CorpusPreparer.Prepare(new PrepareOptions(dir.File("c"), TokenizerKind.Char, dir.File("b"), ValFraction: 0.4, MaxLineBytes: limit, SkipBadDocuments: true));
        Assert.Equal((4L, 1L), (meta.Documents, meta.SkippedDocuments));   // the rest of its file is not read
    }

    [Theory]
    [InlineData(TokenizerKind.Cl100kBase, "c.txt", 1 << 20, false)]  // one text, read at once: the run is one piece too long
    [InlineData(TokenizerKind.Cl100kBase, "c.txt", 1 << 14, true)]   // read in chunks, the run held over from one to the next
    [InlineData(TokenizerKind.Cl100kBase, "c/b.txt", 1 << 20, false)] // a text file among documents
    [InlineData(TokenizerKind.Char, "c/b.txt", 1 << 20, true)]        // the run ends the file
    [InlineData(TokenizerKind.Cl100kBase, "t/b.txt", 1 << 14, false)]  // a folder of text files, one text: the file, not the folder,
    [InlineData(TokenizerKind.Cl100kBase, "t/b.txt", 1 << 20, true)]   // with the bytes read of it
    [InlineData(TokenizerKind.Cl100kBase, "s/b.txt", 1 << 20, false)]  // a folder of one text file: the file too
    public void TextWithoutACut_LongerThanAPieceMayBe_IsNamed(TokenizerKind tokenizer, string name, int chunkBytes, bool runEnds)
    {
        using var dir = new TempDir();
        const int limit = 100_000;
        // Places to cut every few characters, and a run of 108,890 digits and letters without one, first or last.
        var cuttable = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"w{i}b "));
        var run = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i}x"));
        var file = dir.File(name, runEnds ? cuttable + run : run + " the end\n" + cuttable);
        if (name.StartsWith("c/")) CorpusFiles.Texts(dir.File("c/a.jsonl"), "one", "two");
        if (name.StartsWith("t/")) dir.File("t/a.txt", string.Concat(Enumerable.Repeat("The first file.\n", 2_000)));
        var corpus = name.Contains('/') ? dir.File(name[..1]) : file;
        // One text's val split would cut the run; 1 % leaves more than the limit in train.
        double valFraction = name.StartsWith("c/") ? 0.1 : 0.01;
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, tokenizer, dir.File("a"), valFraction,
            ChunkBytes: chunkBytes, MaxUncutChars: limit)));
        Assert.Equal(file, ex.Path);
        var m = Regex.Match(ex.Message, $@"^{Regex.Escape(file)}: (1\d\d,\d\d\d) characters in a row before byte ([\d,]+) have no place to cut them into "
                                        + @"pieces for the tokenizer \(a newline, or a space or punctuation between two letters\); at most 100,000 can be one piece$");
        Assert.True(m.Success, ex.Message);
        // The bytes read when it is found hold the run's first 100,001 characters (ASCII: a byte each), and no more than the file.
        long before = long.Parse(m.Groups[2].Value.Replace(",", "")), runStart = runEnds ? cuttable.Length : 0;
        Assert.InRange(before, runStart + limit + 1, new FileInfo(file).Length);
        Assert.False(Directory.Exists(dir.File("a")));
        // Within the limit, the same text is prepared whole.
        CorpusPreparer.Prepare(new PrepareOptions(corpus, tokenizer, dir.File("b"), valFraction, ChunkBytes: chunkBytes, MaxUncutChars: 200_000));
        using var cache = TokenCache.Open(dir.File("b"));
        var ids = cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i);
        Assert.Contains(File.ReadAllText(file), cache.Tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData(1 << 14)]
    [InlineData(1 << 20)]
    public void ARunEndingOneTextFile_FoundOnlyInTheNext_IsNamedByTheFolder(int chunkBytes)
    {
        // Reading has reached b.txt when the run at the end of a.txt is found (its end is b's first character):
        // naming b.txt would point at a file without it, so the folder is named, with the bytes read of both.
        using var dir = new TempDir();
        var cuttable = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"w{i}b "));
        var a = dir.File("t/a.txt", cuttable + new string('a', 100_000));
        dir.File("t/b.txt", " b " + cuttable);
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("t"), TokenizerKind.Cl100kBase, dir.File("o"), 0.01,
            ChunkBytes: chunkBytes, MaxUncutChars: 100_000)));
        var m = Regex.Match(ex.Message, $@"^{Regex.Escape(dir.File("t"))}: 100,00[0-3] characters in a row before byte ([\d,]+) have no place");
        Assert.True(m.Success, ex.Message);
        Assert.InRange(long.Parse(m.Groups[1].Value.Replace(",", "")), new FileInfo(a).Length + 1, new FileInfo(a).Length + new FileInfo(dir.File("t/b.txt")).Length);
    }

    [Fact]
    public void ARunBegunTwoBytesBeforeTheNextFile_IsNamedByTheFolder_ThoughAReadEndsInACharacter()
    {
        // The run is " a" at the end of a.txt and 中 (3 bytes each) in b.txt. It is found when 98,315 bytes of b.txt
        // are read (5 reads of 19,663): 32,771 whole characters, 98,313 bytes, and 2 bytes of the next. The 98,315
        // bytes it and they take came from b.txt and 2 before it: the folder is named, not b.txt.
        using var dir = new TempDir();
        var a = dir.File("t/a.txt", string.Concat(Enumerable.Range(0, 30_000).Select(i => $"w{i}b ")) + "a");
        dir.File("t/b.txt", string.Concat(Enumerable.Repeat("中", 40_000)));
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("t"), TokenizerKind.Cl100kBase, dir.File("o"), 0.01,
            ChunkBytes: 19_663, MaxUncutChars: 1 << 15)));   // the least the limit may be: a piece
        Assert.StartsWith($"{dir.File("t")}: 32,773 characters in a row before byte {new FileInfo(a).Length + 98_315:N0} have no place", ex.Message);
    }

    [Theory]
    [InlineData(100_000, true)]
    [InlineData(100_001, false)]
    public void ARunAsLongAsTheLimit_IsOnePiece_WhereverTheReadsEnd(int run, bool allowed)
    {
        using var dir = new TempDir();
        // The run is cut off by the space after it: a cut is seen only once the character after it is read, so a
        // read that ends on the space holds one character more (counted, when the run is too long, with the run).
        var corpus = dir.File("c.txt", new string('a', run) + " b " + string.Concat(Enumerable.Range(0, 30_000).Select(i => $"w{i}b ")));
        foreach (int chunk in new[] { 100_000, 100_001, 100_002, 1 << 20 })
        {
            var o = new PrepareOptions(corpus, TokenizerKind.Cl100kBase, dir.File($"out{chunk}"), 0.01, ChunkBytes: chunk, MaxUncutChars: 100_000);
            if (allowed) CorpusPreparer.Prepare(o);
            else Assert.Matches($@"^{Regex.Escape(corpus)}: 100,00[12] characters in a row", Assert.Throws<DataException>(() => CorpusPreparer.Prepare(o)).Message);
        }
    }

    [Fact]
    public void ReadLimits_OutsideTheirRange_AreNamed()
    {
        var o = new PrepareOptions("c.txt", TokenizerKind.Char, "out", MaxLineBytes: 1000, MaxUncutChars: 1000);
        Assert.Equal(["max_line_bytes", "max_uncut_chars"], o.Problems().Select(p => p.Key));
        Assert.Equal(["max_uncut_chars"], (o with { MaxLineBytes = 1 << 16, MaxUncutChars = int.MaxValue }).Problems().Select(p => p.Key));
        Assert.Empty((o with { MaxLineBytes = 1 << 30, MaxUncutChars = 1 << 15 }).Problems());
    }

    static TokenCacheMeta Prepare(string corpus, string outDir, bool skip = false, TokenizerKind tokenizer = TokenizerKind.Char)
        => CorpusPreparer.Prepare(new PrepareOptions(corpus, tokenizer, outDir, ValFraction: 0.4, SkipBadDocuments: skip));
}
