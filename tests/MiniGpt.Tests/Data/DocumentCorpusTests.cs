using System.Text;
using System.Security.Cryptography;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

/// <summary>Corpora of documents (JSON Lines, gzipped JSON Lines, Parquet, mixed folders), and today's text caches unchanged.</summary>
public class DocumentCorpusTests
{
    static readonly string Shakespeare = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "data", "tinyshakespeare.txt");
    const int Cl100kEndOfText = 100257;

    [Theory]
    // Hashes of the caches that MiniGpt made before corpora of documents existed (commit d5fdc11).
    // Whatever the number of workers, and in pieces of 4 KB as in the 1 MB ones: the text is cut only where no token spans the cut.
    [InlineData(TokenizerKind.Char, "1fbfef9f801abeb0545421a3f51724207cd52c33d009d6ef774365c9ffd87e5b", "d26c77a6fe3f41a685d267d8661820e463d5304daff6faecc7ad8e68484414a1", 2, 1 << 20)]
    [InlineData(TokenizerKind.Cl100kBase, "734c34a2acb6f48e5ea9e01b05515e539fce6b2f96f9d6d6171e54f864dd0e25", "e60249f3d979406ef22ba67710f625788899207ba329f09fbd8c5ae07599fa3b", 1, 1 << 20)]
    [InlineData(TokenizerKind.Cl100kBase, "734c34a2acb6f48e5ea9e01b05515e539fce6b2f96f9d6d6171e54f864dd0e25", "e60249f3d979406ef22ba67710f625788899207ba329f09fbd8c5ae07599fa3b", 2, 1 << 20)]
    [InlineData(TokenizerKind.Cl100kBase, "734c34a2acb6f48e5ea9e01b05515e539fce6b2f96f9d6d6171e54f864dd0e25", "e60249f3d979406ef22ba67710f625788899207ba329f09fbd8c5ae07599fa3b", 1, 4096)]
    [InlineData(TokenizerKind.Cl100kBase, "734c34a2acb6f48e5ea9e01b05515e539fce6b2f96f9d6d6171e54f864dd0e25", "e60249f3d979406ef22ba67710f625788899207ba329f09fbd8c5ae07599fa3b", 3, 4096)]
    public void ShakespeareText_GivesTheSameCacheAsBefore(TokenizerKind tokenizer, string trainSha, string valSha, int workers, int chunkBytes)
    {
        using var dir = new TempDir();
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Shakespeare, tokenizer, dir.Path, Workers: workers, ChunkBytes: chunkBytes));
        Assert.Equal((trainSha, valSha), (Sha(Path.Combine(dir.Path, "train.bin")), Sha(Path.Combine(dir.Path, "val.bin"))));
        Assert.Equal((null, null, null), (meta.Documents, meta.SkippedDocuments, meta.TextField));
    }

    [Fact]
    public void JsonLines_Char_JoinsDocumentsWithTheSeparator_AndSplitsByDocument()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "ab", "cd", "ef", "gh", "ij");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, Path.Combine(dir.Path, "out"), ValFraction: 0.3, DocSeparator: "|"));
        Assert.Equal((5L, 2L, 0L, "text"), (meta.Documents, meta.ValDocuments, meta.SkippedDocuments, meta.TextField));
        var (train, val) = Decoded(Path.Combine(dir.Path, "out"));
        Assert.Equal(("ab|cd|ef", "gh|ij"), (train, val));
        Assert.Equal((8L, 5L, 8L, 5L), (meta.TrainChars, meta.ValChars, meta.TrainBytes, meta.ValBytes));
    }

    [Fact]
    public void ValDocuments_HoldsOutThatManyLastDocuments_AndMustLeaveOneForTrain()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "ab", "cd", "ef", "gh");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("a"), DocSeparator: "|", ValDocuments: 3));
        Assert.Equal((4L, 3L), (meta.Documents, meta.ValDocuments));
        Assert.Equal(("ab", "cd|ef|gh"), Decoded(dir.File("a")));
        var ex = Assert.Throws<ConfigException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("b"), ValDocuments: 4)));
        Assert.Equal($"val_documents = 4: must be below the 4 documents of {corpus}", ex.Message);
    }

    [Fact]
    public void JsonLines_Cl100k_EndsEachDocumentWithEndOfText()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "Hello world", "Second text", "Third");
        CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, Path.Combine(dir.Path, "out"), ValFraction: 0.2));
        using var cache = TokenCache.Open(Path.Combine(dir.Path, "out"));
        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        long[] Expected(params string[] docs) => docs.SelectMany(d => tok.Encode(d).Append(Cl100kEndOfText)).Select(i => (long)i).ToArray();
        Assert.Equal(Expected("Hello world", "Second text"), cache.Train.ReadAll());
        Assert.Equal(Expected("Third"), cache.Val.ReadAll());
    }

    [Fact]
    public void GzipAndParquet_GiveTheSameCacheAsJsonLines()
    {
        using var dir = new TempDir();
        string[] docs = ["first document\nwith two lines", "second, é 日 😀", "third", "fourth"];
        var jsonl = CorpusFiles.Texts(dir.File("j/c.jsonl"), docs);
        var gz = CorpusFiles.Gzip(dir.File("c.jsonl.gz"), File.ReadAllText(jsonl));
        var parquet = CorpusFiles.Parquet(dir.File("c.parquet"), "text", docs[..1], docs[1..]);
        foreach (var tok in new[] { TokenizerKind.Char, TokenizerKind.Cl100kBase })
        {
            var expected = Prepared(jsonl, tok, dir.File($"{tok}-j"));
            Assert.Equal(expected, Prepared(gz, tok, dir.File($"{tok}-g")));
            Assert.Equal(expected, Prepared(parquet, tok, dir.File($"{tok}-p")));
        }
    }

    [Fact]
    public void ParquetRowGroups_OfFewerRowsThanTheOneBefore_AndATextInsideAStruct_AreReadRowByRow()
    {
        using var dir = new TempDir();
        // The rows of each group go into the same array: a shorter group after a longer one, with a null where the
        // longer one had text, must not show the text again.
        var flat = CorpusFiles.Parquet(dir.File("flat.parquet"), "text", ["a", "b", "c"], [null, "e"], ["f"]);
        Assert.Equal([("a", null), ("b", null), ("c", null), (null, "row group 1, row 0"), ("e", null), ("f", null)],
            Documents.Read([flat], "text", false, skipBad: true).Select(d => (d.Text, d.Problem is null ? null : d.Where)));
        // A column inside a struct is read as Parquet.Net decodes it, not as bytes; here in groups of 2 rows, then 1.
        var nested = dir.File("nested.parquet");
        using (var file = File.Create(nested))
            Parquet.Serialization.ParquetSerializer.SerializeAsync(new[] { "one", "two", "three" }.Select(t => new Row { Meta = new() { Text = t } }), file,
                new Parquet.ParquetOptions { RowGroupSize = 2 }).GetAwaiter().GetResult();
        Assert.Equal(["one", "two", "three"], Documents.Read([nested], "text", false, skipBad: false).Select(d => d.Text));
    }

    sealed class Row
    {
        [System.Text.Json.Serialization.JsonPropertyName("meta")] public Inner? Meta { get; set; }
    }

    sealed class Inner
    {
        [System.Text.Json.Serialization.JsonPropertyName("text")] public string? Text { get; set; }
    }

    [Fact]
    public void JsonLines_OnOneWorker_AllocateLittlePerByteOfText()
    {
        // A document's text goes into a pooled array of its batch, not a string of its own: strings and their records
        // were most of what a prepare of JSON Lines allocated (docs/benchmarks.md). What is left per document (its
        // place in its batch, its ids' count) counts here too, with documents of a few hundred bytes: 1.2–1.5 bytes a
        // byte of text, ~6 with the batch's array left out of the pool. (Parquet.Net's own arrays, a few bytes per byte
        // of a Parquet file, would hide the difference.)
        using var dir = new TempDir();
        var paragraphs = File.ReadAllText(Shakespeare).Split("\n\n");
        var (perByte, detail) = Allocations.PerByte(copies =>
        {
            var docs = Enumerable.Repeat(paragraphs, copies).SelectMany(p => p).ToArray();
            var corpus = CorpusFiles.Texts(dir.File($"c{copies}.jsonl"), docs);
            var outDir = Path.Combine(dir.Path, $"out{copies}");
            return () =>
            {
                var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, outDir, Workers: 1, Fixed: new(TokenizerKind.Cl100kBase)));
                Assert.Equal(docs.Length, meta.Documents);
                return meta.TrainBytes + meta.ValBytes;
            };
        });
        Assert.True(perByte < 2.5, detail + " of text");
    }

    [Fact]
    public void ManyDocuments_GiveTheSameCache_WhateverTheNumberOfWorkers()
    {
        using var dir = new TempDir();
        // Short and long documents, so that batches hold many documents or one.
        var docs = Enumerable.Range(0, 400).Select(i => i % 50 == 0 ? string.Concat(Enumerable.Repeat($"long {i} é 😀\n", 3000)) : $"doc {i}: {SmallBpe.MultiByteText}").ToArray();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), docs);
        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        long[] Expected(IEnumerable<string> ds) => ds.SelectMany(d => tok.Encode(d).Append(Cl100kEndOfText)).Select(i => (long)i).ToArray();
        long[] expected = [.. Expected(docs[..360]), -1, .. Expected(docs[360..])];
        foreach (var workers in new[] { 1, 2, 3 })
        {
            var outDir = dir.File($"out{workers}");
            CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, outDir, Workers: workers));
            using var cache = TokenCache.Open(outDir);
            Assert.Equal(expected, (long[])[.. cache.Train.ReadAll(), -1, .. cache.Val.ReadAll()]);
            Assert.Equal(Prepared(corpus, TokenizerKind.Char, dir.File("char1")), Prepared(corpus, TokenizerKind.Char, dir.File($"char{workers}x"), workers));
        }
    }

    [Fact]
    public void Char_DocumentsWithCharactersOfTheirOwn_GiveTheirVocabularyAndText_WhateverTheNumberOfWorkers()
    {
        // Each thread notes the characters of the batches it takes in a set of its own: the vocabulary is all of them,
        // pairs of surrogates as one character each, and the text decodes to the documents joined.
        using var dir = new TempDir();
        var docs = Enumerable.Range(0, 300).Select(i => $"{(char)(0x4E00 + i)}{(i % 7 == 0 ? char.ConvertFromUtf32(0x1F600 + i % 50) : "")} {i}").ToArray();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), docs);
        var vocabulary = string.Concat(docs.Append("|").SelectMany(d => d.EnumerateRunes()).Distinct().Order().Select(r => r.ToString()));
        foreach (var workers in new[] { 1, 2, 3 })
        {
            var outDir = dir.File($"out{workers}");
            var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, outDir, ValFraction: 0.1, Workers: workers, ChunkBytes: 64, DocSeparator: "|"));
            Assert.Equal(vocabulary, meta.Tokenizer.Chars);
            Assert.Equal((string.Join("|", docs[..270]), string.Join("|", docs[270..])), Decoded(outDir));
        }
    }

    [Fact]
    public void MixedFolder_IsReadInOrdinalPathOrder_EachTextFileOneDocument()
    {
        using var dir = new TempDir();
        dir.File("corpus/b.txt", "bee");
        dir.File("corpus/a/z.txt", "zed");
        CorpusFiles.Texts(dir.File("corpus/c.jsonl"), "sea", "see");
        CorpusFiles.Parquet(dir.File("corpus/B.parquet"), "body", ["Bee"]);
        dir.File("corpus/notes.md", "ignored");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus"), TokenizerKind.Char, Path.Combine(dir.Path, "out"),
            ValFraction: 0.2, TextField: "body", SkipBadDocuments: true, DocSeparator: "/"));
        // c.jsonl has no "body" field: its two lines are skipped and counted.
        Assert.Equal((3L, 1L, 2L), (meta.Documents, meta.ValDocuments, meta.SkippedDocuments));
        Assert.Equal(["B.parquet", "a/z.txt", "b.txt", "c.jsonl"], meta.CorpusFiles.Select(f => Path.GetRelativePath(Path.Combine(dir.Path, "corpus"), f)));
        Assert.Equal(("Bee/zed", "bee"), Decoded(Path.Combine(dir.Path, "out")));
    }

    [Fact]
    public void ALargeTextFileInAFolder_IsOneDocument_ReadAndEncodedInPieces()
    {
        using var dir = new TempDir();
        var book = File.ReadAllText(Shakespeare)[..300_000];   // about ten pieces
        CorpusFiles.Texts(dir.File("corpus/a.jsonl"), "first", "second é");
        var bookFile = dir.File("corpus/b.txt", book);
        dir.File("corpus/c.txt", "last one");
        var corpus = Path.Combine(dir.Path, "corpus");

        // Held a piece at a time: each within a piece's size, all but the last going on, together the file.
        var pieces = Documents.Read([bookFile], "text", replaceInvalidUtf8: false, skipBad: false).ToList();
        Assert.InRange(pieces.Count, 5, 20);
        Assert.All(pieces, p => Assert.InRange(p.Text!.Length, 1, 1 << 15));   // OrderedEncoder.PieceChars
        Assert.Equal(pieces.Select((_, i) => i == pieces.Count - 1), pieces.Select(p => p.Ends));
        Assert.Equal(book, string.Concat(pieces.Select(p => p.Text)));

        // BPE: one end of text after the whole file, its ids the whole text's, whatever the number of workers.
        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        long[] Expected(params string[] docs) => docs.SelectMany(d => tok.Encode(d).Append(Cl100kEndOfText)).Select(i => (long)i).ToArray();
        foreach (var workers in new[] { 1, 3 })
        {
            var outDir = dir.File($"bpe{workers}");
            var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, outDir, Workers: workers, ValDocuments: 2));
            using var cache = TokenCache.Open(outDir);
            Assert.Equal((4L, 2L), (meta.Documents, meta.ValDocuments));
            Assert.Equal(Expected("first", "second é"), cache.Train.ReadAll());
            Assert.Equal(Expected(book, "last one"), cache.Val.ReadAll());
            Assert.Equal((13L, book.Length + 8L, 14L, book.Length + 8L), (meta.TrainChars, meta.ValChars, meta.TrainBytes, meta.ValBytes));
        }

        // char: the separator goes between documents, not between the pieces of one, the file in val or in train.
        var charMeta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("char"), Workers: 2, ValDocuments: 2, DocSeparator: "|"));
        Assert.Equal(("first|second é", book + "|last one"), Decoded(dir.File("char")));
        Assert.Equal((4L, 14L, book.Length + 9L), (charMeta.Documents!.Value, charMeta.TrainChars, charMeta.ValChars));
        CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("char1"), ValDocuments: 1, DocSeparator: "|"));
        Assert.Equal(("first|second é|" + book, "last one"), Decoded(dir.File("char1")));
    }

    [Fact]
    public void ATextFileInAFolder_InvalidAfterItsFirstPieces_IsOneBadDocument_NoneOfItEncoded()
    {
        using var dir = new TempDir();
        var good = File.ReadAllText(Shakespeare)[..200_000];
        CorpusFiles.Texts(dir.File("corpus/a.jsonl"), "first", "second");
        var bad = dir.File("corpus/b.txt");
        File.WriteAllBytes(bad, [.. Encoding.UTF8.GetBytes(good), 0xFF, .. Encoding.UTF8.GetBytes(" tail")]);
        var corpus = Path.Combine(dir.Path, "corpus");

        var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, dir.File("a"))));
        Assert.Equal($"{bad}: the whole file: invalid UTF-8 at byte offset 200000", ex.Message);

        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, dir.File("b"), SkipBadDocuments: true, ValDocuments: 1));
        using var cache = TokenCache.Open(dir.File("b"));
        Assert.Equal((2L, 1L, 1L), (meta.Documents, meta.ValDocuments, meta.SkippedDocuments));
        Assert.Equal((long[])[.. tok.Encode("first").Select(i => (long)i), Cl100kEndOfText, -1, .. tok.Encode("second").Select(i => (long)i), Cl100kEndOfText],
            (long[])[.. cache.Train.ReadAll(), -1, .. cache.Val.ReadAll()]);

        // Replacing instead: one U+FFFD, as in a text corpus.
        CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("c"), ReplaceInvalidUtf8: true, ValDocuments: 1, DocSeparator: "|"));
        Assert.Equal(("first|second", good + "\uFFFD tail"), Decoded(dir.File("c")));
    }

    [Fact]
    public void ATextWithoutACut_IsOnePiece_ItsIdsTheWholeText()
    {
        // Lines indented with ideographic spaces and ended by CRLF, letters only between: no lone newline, and no
        // space or punctuation between letters.
        var text = string.Concat(Enumerable.Repeat("\u3000\u3000天地玄黄宇宙洪荒日月盈昃辰宿列张\r\n", 70_000));   // 1.4M characters
        using var dir = new TempDir();
        var file = dir.File("corpus/a.txt", text);
        CorpusFiles.Texts(dir.File("corpus/b.jsonl"), "next");
        var pieces = Documents.Read([file], "text", replaceInvalidUtf8: false, skipBad: false).ToList();
        Assert.Equal([text], pieces.Select(p => p.Text));

        var tok = LibraryTokenizer.Tiktoken(TokenizerKind.Cl100kBase);
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus"), TokenizerKind.Cl100kBase, dir.File("docs"), Workers: 2, ValDocuments: 1));
        using (var cache = TokenCache.Open(dir.File("docs")))
            Assert.Equal(tok.Encode(text).Append(Cl100kEndOfText).Select(i => (long)i), cache.Train.ReadAll());
        // As a text corpus, read in chunks of 4 KB.
        CorpusPreparer.Prepare(new PrepareOptions(file, TokenizerKind.Cl100kBase, dir.File("text"), Workers: 2, ChunkBytes: 4096, ValFraction: 0.5));
        using (var cache = TokenCache.Open(dir.File("text")))
        {
            var half = text.Length / 2;
            Assert.Equal(tok.Encode(text[..half]).Concat(tok.Encode(text[half..])).Select(i => (long)i), (long[])[.. cache.Train.ReadAll(), .. cache.Val.ReadAll()]);
        }
    }

    [Fact]
    public void ParquetFromAnIndependentWriter_IsRead()
    {
        // Written by hyparquet-writer (scripts/make_parquet_fixture.mjs): two row groups, a text and an id column.
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "documents_hyparquet.parquet");
        using var dir = new TempDir();
        var meta = CorpusPreparer.Prepare(new PrepareOptions(fixture, TokenizerKind.Char, dir.Path, ValFraction: 0.25, DocSeparator: "|"));
        Assert.Equal((4L, 1L), (meta.Documents, meta.ValDocuments));
        Assert.Equal(("First document.|Second, with é and 日本.|Third one.", "Fourth and last."), Decoded(dir.Path));
    }

    [Fact]
    public void ATokenizerWithoutEndOfText_CannotPrepareDocuments()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "hello", "hello");
        var ex = Assert.Throws<ConfigException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Bpe, Path.Combine(dir.Path, "out"),
            TiktokenFile: dir.File("t.tiktoken", SmallBpe.Tiktoken()))));
        Assert.Equal("tokenizer = 'bpe': has no end-of-text token <|endoftext|> to end each document with; a corpus of documents needs one", ex.Message);
    }

    [Fact]
    public void EmptyDocuments_JoinedByAnEmptySeparator_HaveNoCharVocabulary_AndAreRefused()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "", "", "");
        var o = new PrepareOptions(corpus, TokenizerKind.Char, dir.File("out"), DocSeparator: "");
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(o));
        Assert.Equal($"corpus {corpus} holds no characters, and a char vocabulary needs at least one", ex.Message);
        Assert.False(Directory.Exists(o.OutDir));
        CorpusPreparer.Prepare(o with { DocSeparator = "\n" });   // the separator's characters are the vocabulary
    }

    [Fact]
    public void OneDocument_CannotBeSplitByDocument()
    {
        using var dir = new TempDir();
        var corpus = CorpusFiles.Texts(dir.File("c.jsonl"), "only");
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, Path.Combine(dir.Path, "out"))));
        Assert.Equal($"corpus {corpus} holds 1 document; splitting train from val by document needs at least 2", ex.Message);
    }

    /// <summary>The train ids, then −1, then the val ids.</summary>
    internal static long[] Prepared(string corpus, TokenizerKind tok, string outDir, int workers = 1)
    {
        CorpusPreparer.Prepare(new PrepareOptions(corpus, tok, outDir, Workers: workers, ChunkBytes: 16));
        using var cache = TokenCache.Open(outDir);
        return [.. cache.Train.ReadAll(), -1, .. cache.Val.ReadAll()];
    }

    static (string Train, string Val) Decoded(string dir)
    {
        using var cache = TokenCache.Open(dir);
        return (cache.Tokenizer.Decode(cache.Train.ReadAll().Select(i => (int)i)), cache.Tokenizer.Decode(cache.Val.ReadAll().Select(i => (int)i)));
    }

    [Theory]
    [InlineData(TokenizerKind.Char)]        // two passes: scan, then encode
    [InlineData(TokenizerKind.Cl100kBase)]  // one
    public void Progress_EndsEachPassOnce_WithEveryDocumentCounted(TokenizerKind tok)
    {
        using var dir = new TempDir();
        // A large first file, then a small one whose lines are all read ahead at once: its bytes are done before its documents are counted.
        dir.File("c/a.txt", string.Concat(Enumerable.Repeat("lorem ipsum dolor\n", 300_000)));
        CorpusFiles.Texts(dir.File("c/b.jsonl"), "one", "two", "three");
        var reports = new List<PrepareProgress>();
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("c"), tok, dir.File("out")), new Collect(reports));
        var phases = tok == TokenizerKind.Char ? new[] { PreparePhase.Scan, PreparePhase.Encode } : [PreparePhase.Encode];
        Assert.Equal(phases, reports.Select(r => r.Phase).Distinct());
        foreach (var phase in phases)
        {
            var ends = reports.Where(r => r.Phase == phase && r.BytesDone == r.BytesTotal).ToList();
            Assert.Equal(4L, Assert.Single(ends).Documents);
            Assert.Same(ends[0], reports.Last(r => r.Phase == phase));
        }
    }

    internal sealed class Collect(List<PrepareProgress> into) : IProgress<PrepareProgress>
    {
        public void Report(PrepareProgress value) => into.Add(value);
    }

    static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
