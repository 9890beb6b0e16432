using System.Text;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class CorpusPreparerTests
{
    static readonly string Shakespeare = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "data", "tinyshakespeare.txt");

    [Fact]
    public void BundledCorpus_CharSplit_MatchesNanoGpt()
    {
        using var dir = new TempDir();
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Shakespeare, TokenizerKind.Char, dir.Path));
        // nanoGPT's data/shakespeare_char/prepare.py: vocab 65, 1,003,854 train and 111,540 val tokens.
        Assert.Equal(65, meta.VocabSize);
        Assert.Equal(1_003_854, meta.TrainTokens);
        Assert.Equal(111_540, meta.ValTokens);
        Assert.Equal(1_115_394, meta.CorpusBytes);
        using var cache = TokenCache.Open(dir.Path, TokenizerKind.Char);
        var text = File.ReadAllText(Shakespeare);
        Assert.Equal(text[..200], cache.Tokenizer.Decode(cache.Train.ReadAll().Take(200).Select(i => (int)i)));
        Assert.Equal(text[1_003_854..(1_003_854 + 100)], cache.Tokenizer.Decode(cache.Val.ReadAll().Take(100).Select(i => (int)i)));
    }

    [Theory]
    [InlineData(0.1, 90, 10)]
    [InlineData(0.25, 75, 25)]
    public void SplitSizes_CountCharactersNotBytes(double valFraction, int train, int val)
    {
        using var dir = new TempDir();
        // 100 scalar values, many of them multi-byte.
        var text = string.Concat(Enumerable.Repeat("aé日😀b", 20));
        var corpus = dir.File("c.txt", text);
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, Path.Combine(dir.Path, "out"), valFraction, ChunkBytes: 7));
        Assert.Equal(train, meta.TrainTokens);
        Assert.Equal(val, meta.ValTokens);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), meta.TrainBytes + meta.ValBytes);
        using var cache = TokenCache.Open(Path.Combine(dir.Path, "out"));
        Assert.Equal(text, cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
    }

    [Theory]
    [InlineData(1, 1 << 20)]
    [InlineData(2, 1 << 20)]
    [InlineData(3, 1000)]
    public void BpeText_IsEncodedInPieces_AsIfEachSplitWereEncodedWhole(int workers, int chunkBytes)
    {
        using var dir = new TempDir();
        // About 150k characters in lines of varied script, some of them one long line, with surrogate pairs near the split.
        var lines = Enumerable.Range(0, 3000).Select(i => i % 97 == 0 ? string.Concat(Enumerable.Repeat("no newline here, ", 200))
                                                      : $"{i}: {SmallBpe.MultiByteText} 😀{new string(' ', i % 5)}word{i % 7}");
        var text = string.Join("\n", lines) + "\n\n";
        var corpus = dir.File("c.txt", text);
        var tok = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var runes = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        foreach (var valFraction in new[] { 0.1, 0.5037 })
        {
            var outDir = Path.Combine(dir.Path, $"out{valFraction}");
            var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, outDir, valFraction, Workers: workers, ChunkBytes: chunkBytes));
            int splitAt = (int)(runes.Length * (1 - valFraction));
            string train = string.Concat(runes[..splitAt]), val = string.Concat(runes[splitAt..]);
            using var cache = TokenCache.Open(outDir);
            Assert.Equal(tok.Encode(train).Select(i => (long)i), cache.Train.ReadAll());
            Assert.Equal(tok.Encode(val).Select(i => (long)i), cache.Val.ReadAll());
            Assert.Equal((Encoding.UTF8.GetByteCount(train), Encoding.UTF8.GetByteCount(val)), (meta.TrainBytes, meta.ValBytes));
            Assert.Equal(((long)splitAt, (long)(runes.Length - splitAt)), (meta.TrainChars, meta.ValChars));
        }
    }

    [Fact]
    public void BpeText_OnOneWorker_AllocatesLittlePerByteOfCorpus()
    {
        using var dir = new TempDir();
        var tok = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var shakespeare = File.ReadAllText(Shakespeare);
        // One worker encodes on this thread (a tokenizer built here as a model's: a bundled one is built by a task,
        // which this thread may run itself). Pieces as strings, their ids in lists and in arrays were ~4.7 bytes per
        // byte of corpus: copied by each collection while in flight, they held two workers back (docs/benchmarks.md).
        var (perByte, detail) = Allocations.PerByte(copies =>
        {
            var corpus = dir.File($"c{copies}.txt", string.Concat(Enumerable.Repeat(shakespeare, copies)));
            var outDir = Path.Combine(dir.Path, $"out{copies}");
            return () => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, outDir, Workers: 1, Fixed: new(TokenizerKind.Cl100kBase))).CorpusBytes;
        });
        Assert.True(perByte < 0.25, detail);
        foreach (var copies in new[] { 1, 2, 6 })
        {
            using var cache = TokenCache.Open(Path.Combine(dir.Path, $"out{copies}"));
            Assert.Equal(File.ReadAllText(dir.File($"c{copies}.txt")), tok.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
        }
    }

    [Theory]
    [MemberData(nameof(SmallBpe.Kinds), MemberType = typeof(SmallBpe))]
    public void TextWithNoNewline_IsCutBetweenWords_AsIfEncodedWhole(string which)
    {
        using var dir = new TempDir();
        var f = SmallBpe.Files(which, dir);
        var tok = Tokenizers.CreateBpe(f.Kind, f.Vocab, f.Merges, f.Tiktoken);
        // One line of about 400k characters: words of several scripts, capitals, contractions, digits, runs of spaces,
        // punctuation, marks and emoji; spaces between letters are the only places it can be cut.
        string[] words = ["the", "THE", "it's", "we'LL", "Добрый", "день", "naïve", "e\u0301te", "日本語", "٣٤٥", "12345", "a.b", "--", "🙂", "x", "Éa"];
        var rng = new Random(7);
        var text = string.Concat(Enumerable.Range(0, 60_000).Select(i => words[rng.Next(words.Length)] + (rng.Next(9) == 0 ? "  " : rng.Next(7) == 0 ? ", " : " ")));
        Assert.DoesNotContain('\n', text);
        AssertEncodedAsIfEachSplitWhole(dir, text, f, tok, valFraction: 0.25, chunkBytes: 50_000);
    }

    [Theory]
    [MemberData(nameof(SmallBpe.Kinds), MemberType = typeof(SmallBpe))]
    public void TextWithoutSpaces_IsCutBeforePunctuationBetweenLetters_AsIfEncodedWhole(string which)
    {
        using var dir = new TempDir();
        var f = SmallBpe.Files(which, dir);
        var tok = Tokenizers.CreateBpe(f.Kind, f.Vocab, f.Merges, f.Tiktoken);
        // No space and no lone newline: CJK lines indented with U+3000 and ended by CRLF, and words of other scripts
        // joined by punctuation, apostrophes (which may not begin a piece), marks, digits and emoji.
        string[] words = ["天地玄黄", "宇宙", "日本語", "Добрый", "naïve", "e\u0301te", "it", "s", "LL", "x", "Éa", "٣٤٥", "12", "🙂", "ab𝒜c"];
        string[] joins = ["，", "。", "、", "-", "/", "+", ".", "'", "’", "·", "…", "\u0301", "<|endoftext|>", "|", "\u3000"];
        var rng = new Random(11);
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(i =>
            (i % 25 == 0 ? "\r\n\u3000\u3000" : "") + words[rng.Next(words.Length)] + joins[rng.Next(joins.Length)]));
        Assert.DoesNotContain(' ', text);
        var corpus = AssertEncodedAsIfEachSplitWhole(dir, text, f, tok, valFraction: 0.25, chunkBytes: 50_000);
        // In pieces: as a document the same text comes in pieces of at most a piece's size.
        var pieces = Documents.Read([corpus], "text", replaceInvalidUtf8: false, skipBad: false).Select(d => d.Text!).ToList();
        Assert.True(pieces.Count > 5, $"{pieces.Count} pieces");
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, 1 << 15));   // OrderedEncoder.PieceChars
    }

    [Fact]
    public void O200k_Text_IsNotCutBeforeAMark_WhichItsLettersTake()
    {
        using var dir = new TempDir();
        // o200k's letter tokens take combining marks: cut before its virama (U+094D, between two letters), "नमस्ते" is
        // other ids. The comma after the last vowel sign (a mark, not a letter) is no place to cut either.
        var text = string.Concat(Enumerable.Repeat("नमस्ते，", 50_000));
        AssertEncodedAsIfEachSplitWhole(dir, text, (TokenizerKind.O200kBase, null, null, null), Tokenizers.CreateBpe(TokenizerKind.O200kBase), valFraction: 0.5);
    }

    [Fact]
    public void Cl100k_Text_IsNotCutInsideASpecialToken()
    {
        using var dir = new TempDir();
        // An underscore between letters: in <|fim_prefix|>, a cut before it would leave two halves of ordinary tokens.
        var text = string.Concat(Enumerable.Repeat("x<|fim_prefix|>y<|fim_middle|>z<|fim_suffix|>w，", 8_000));
        var tok = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        Assert.Contains(100258, tok.Encode(text));
        AssertEncodedAsIfEachSplitWhole(dir, text, (TokenizerKind.Cl100kBase, null, null, null), tok, valFraction: 0.5);
    }

    [Fact]
    public void O200k_Text_IsNotCutAfterANewlineBeforeASlash()
    {
        using var dir = new TempDir();
        // o200k's punctuation token takes the newlines and slashes after it: ";\n//" is one token.
        var text = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"f();\n//note{i % 10}\n"));
        AssertEncodedAsIfEachSplitWhole(dir, text, (TokenizerKind.O200kBase, null, null, null), Tokenizers.CreateBpe(TokenizerKind.O200kBase), valFraction: 0.5);
    }

    [Fact]
    public void RunWithNoPlaceToCut_LongerThanThePooledArrays_IsEncodedWhole()
    {
        using var dir = new TempDir();
        // 3.6 million digits in a row, no place to cut: one piece of more characters, and more ids (cl100k: up to 3
        // digits each), than the pooled arrays hold; then ordinary lines, pieces from the pools again.
        var digits = string.Concat(Enumerable.Range(0, 400_000).Select(i => $"{i % 1000:D3}{i % 7}{i % 3}{i % 10}{i % 11 % 10}{i % 13 % 10}{i % 9}"));
        var text = "Act 1\n" + digits + "\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"line {i} of verse\n"));
        AssertEncodedAsIfEachSplitWhole(dir, text, (TokenizerKind.Cl100kBase, null, null, null), Tokenizers.CreateBpe(TokenizerKind.Cl100kBase), valFraction: 0.1);
        Assert.True(Tokenizers.CreateBpe(TokenizerKind.Cl100kBase).Encode(digits).Count > 1 << 20);
    }

    /// <summary>Prepares <paramref name="text"/> on 2 workers and checks that each split's ids are its text's, encoded whole; returns the corpus file.</summary>
    static string AssertEncodedAsIfEachSplitWhole(TempDir dir, string text, (TokenizerKind Kind, string? Vocab, string? Merges, string? Tiktoken) f,
        ITokenizer tok, double valFraction, int chunkBytes = 1 << 20)
    {
        var corpus = dir.File("c.txt", text);
        CorpusPreparer.Prepare(new PrepareOptions(corpus, f.Kind, dir.File("out"), valFraction, VocabFile: f.Vocab, MergesFile: f.Merges,
            TiktokenFile: f.Tiktoken, Workers: 2, ChunkBytes: chunkBytes));
        var runes = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        int splitAt = (int)(runes.Length * (1 - valFraction));
        using var cache = TokenCache.Open(dir.File("out"));
        Assert.Equal(tok.Encode(string.Concat(runes[..splitAt])).Select(i => (long)i), cache.Train.ReadAll());
        Assert.Equal(tok.Encode(string.Concat(runes[splitAt..])).Select(i => (long)i), cache.Val.ReadAll());
        return corpus;
    }

    [Fact]
    public void Gpt2Bpe_Text_IsCutWhereItsLookaheadCannotSeeTheCut()
    {
        using var dir = new TempDir();
        // GPT-2's \s+(?!\S) makes "\n\n" before a word two tokens, but one at the end of a piece; so do spaces before "\n".
        var (vocab, merges) = SmallBpe.Gpt2("Ċ Ċ", "Ġ Ġ", "Ġ Ċ");
        var bpe = Tokenizers.CreateBpe(TokenizerKind.Bpe, dir.File("vocab.json", vocab), dir.File("merges.txt", merges));
        Assert.NotEqual(bpe.Encode("a\n\nB").Take(3), bpe.Encode("a\n\n"));
        // Mostly paragraphs after a blank line, where a cut would change the ids; now and then a lone newline, where one may fall.
        var lines = Enumerable.Range(0, 20000).Select(i => i % 40 == 0 ? $"hello\nworld {i}  \n\n" : $"Act {i}\n\n");
        var text = string.Concat(lines);
        var corpus = dir.File("c.txt", text);
        var outDir = Path.Combine(dir.Path, "out");
        CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Bpe, outDir, 0.25, VocabFile: dir.File("vocab.json"), MergesFile: dir.File("merges.txt"), Workers: 2));
        int splitAt = (int)(text.Length * 0.75);   // ASCII: one scalar value per char
        using var cache = TokenCache.Open(outDir);
        Assert.Equal(bpe.Encode(text[..splitAt]).Select(i => (long)i), cache.Train.ReadAll());
        Assert.Equal(bpe.Encode(text[splitAt..]).Select(i => (long)i), cache.Val.ReadAll());
    }

    [Fact]
    public void SmallChunks_GiveTheSameCacheAsOneChunk()
    {
        using var dir = new TempDir();
        var corpus = dir.File("c.txt", string.Concat(Enumerable.Repeat(SmallBpe.MultiByteText + "\n", 30)));
        foreach (var tok in new[] { TokenizerKind.Char, TokenizerKind.Cl100kBase })
        {
            CorpusPreparer.Prepare(new PrepareOptions(corpus, tok, Path.Combine(dir.Path, tok + "1"), ChunkBytes: 1 << 20));
            CorpusPreparer.Prepare(new PrepareOptions(corpus, tok, Path.Combine(dir.Path, tok + "2"), ChunkBytes: 5));
            using var a = TokenCache.Open(Path.Combine(dir.Path, tok + "1"));
            using var b = TokenCache.Open(Path.Combine(dir.Path, tok + "2"));
            Assert.Equal(a.Train.ReadAll(), b.Train.ReadAll());
            Assert.Equal(a.Val.ReadAll(), b.Val.ReadAll());
        }
    }

    [Fact]
    public void CompactCl100k_RoundTripsTheCorpus()
    {
        using var dir = new TempDir();
        var text = string.Concat(Enumerable.Repeat(SmallBpe.MultiByteText + "\n", 10));
        var corpus = dir.File("c.txt", text);
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Cl100kBase, Path.Combine(dir.Path, "out"), Compact: true));
        Assert.True(meta.VocabSize < 100, $"compact vocabulary has {meta.VocabSize} ids");
        using var cache = TokenCache.Open(Path.Combine(dir.Path, "out"), TokenizerKind.Cl100kBase);
        var ids = cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i).ToList();
        Assert.All(ids, id => Assert.InRange(id, 0, meta.VocabSize - 2));
        Assert.Equal(text, cache.Tokenizer.Decode(ids));
    }

    [Fact]
    public void FolderOfTextFiles_IsOneCorpus_InPathOrder()
    {
        using var dir = new TempDir();
        dir.File("corpus/b.txt", "world\n");
        dir.File("corpus/a.txt", "hello ");
        dir.File("corpus/ignored.md", "not text");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus"), TokenizerKind.Char, Path.Combine(dir.Path, "out"), 0.5));
        Assert.Equal(2, meta.CorpusFiles.Count);
        using var cache = TokenCache.Open(Path.Combine(dir.Path, "out"));
        Assert.Equal("hello world\n", cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
    }

    [Fact]
    public void BadCorpora_GiveClearErrors()
    {
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "out");
        var missing = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions("/nope/corpus.txt", TokenizerKind.Char, outDir)));
        Assert.Equal(("/nope/corpus.txt", "corpus /nope/corpus.txt not found"), (missing.Path, missing.Message));
        var empty = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("empty.txt", ""), TokenizerKind.Char, outDir)));
        Assert.Equal($"corpus {dir.Path}/empty.txt is empty", empty.Message);
        Assert.False(File.Exists(Path.Combine(outDir, TokenCacheMeta.FileName)));
    }

    [Fact]
    public void BadOptions_AreNamedByKey_BeforeReadingTheCorpus()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<ConfigException>(() => CorpusPreparer.Prepare(
            new PrepareOptions("/nope/corpus.txt", TokenizerKind.Char, Path.Combine(dir.Path, "out"), ValFraction: 1.5, Compact: true)));
        Assert.Equal(["val_fraction = 1.5: must be in (0, 1)", "compact: applies to BPE tokenizers; a char vocabulary is already compact"],
            ex.Problems.Select(p => p.ToString()));
    }

    [Fact]
    public void InvalidUtf8_IsRejectedWithItsOffset_OrReplacedOnRequest()
    {
        using var dir = new TempDir();
        var corpus = dir.File("bad.txt");
        File.WriteAllBytes(corpus, [.. Encoding.UTF8.GetBytes("abcdef"), 0xFF, .. Encoding.UTF8.GetBytes("ghij")]);
        var ex = Assert.Throws<InvalidUtf8Exception>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, Path.Combine(dir.Path, "a"), ChunkBytes: 4)));
        Assert.Equal((corpus, 6L), (ex.Path, ex.Offset));
        Assert.Equal($"{corpus}: invalid UTF-8 at byte offset 6", ex.Message);
        foreach (var tok in new[] { TokenizerKind.Char, TokenizerKind.Cl100kBase })
        {
            var outDir = Path.Combine(dir.Path, $"b-{tok}");
            var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, tok, outDir, 0.5, ReplaceInvalidUtf8: true, ChunkBytes: 7));
            Assert.Equal((5L, 1 + 3 + 4L), (meta.TrainBytes, meta.ValBytes));   // U+FFFD counts as its 3 UTF-8 bytes
            Assert.Equal((5L, 6L), (meta.TrainChars, meta.ValChars));
            using var cache = TokenCache.Open(outDir);
            Assert.Equal(("abcde", "f\uFFFDghij"), (cache.Tokenizer.Decode(cache.Train.ReadAll().Select(i => (int)i)), cache.Tokenizer.Decode(cache.Val.ReadAll().Select(i => (int)i))));
        }
    }

    [Fact]
    public void InterruptedPrepare_KeepsThePreviousCache_AndLeavesNoStaging()
    {
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "out");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "first corpus\n"), TokenizerKind.Char, outDir));
        var before = File.ReadAllBytes(Path.Combine(outDir, TokenCacheMeta.TrainFile));
        using var cts = new CancellationTokenSource();
        var stopInEncode = new Progress(p => { if (p.Phase == PreparePhase.Encode) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => CorpusPreparer.Prepare(
            new PrepareOptions(dir.File("b.txt", new string('x', 50_000)), TokenizerKind.Char, outDir, ChunkBytes: 1000), stopInEncode, cts.Token));
        using var cache = TokenCache.Open(outDir);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(outDir, TokenCacheMeta.TrainFile)));
        Assert.Equal([".ids-verified", ".prepare.lock", "meta.json", "train.bin", "val.bin"], Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PrepareInterruptedInVal_AfterTrainBinCompleted_KeepsThePreviousCache_AndLeavesNoStaging(int workers)
    {
        // train.bin is completed on another thread once its last batch is written, while val is encoded: stopping
        // in val must neither keep it nor race it.
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "out");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "first corpus\n"), TokenizerKind.Cl100kBase, outDir));
        var before = CacheFiles.Select(f => File.ReadAllBytes(Path.Combine(outDir, f))).ToList();
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(i => $"word{i % 97} "));
        using var cts = new CancellationTokenSource();
        var stopInVal = new Progress(p => { if (p.Phase == PreparePhase.Encode && p.BytesDone > p.BytesTotal * 0.97) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => CorpusPreparer.Prepare(
            new PrepareOptions(dir.File("b.txt", text), TokenizerKind.Cl100kBase, outDir, ChunkBytes: 1000, Workers: workers), stopInVal, cts.Token));
        Assert.Equal(before, CacheFiles.Select(f => File.ReadAllBytes(Path.Combine(outDir, f))));
        Assert.Equal([".prepare.lock", "meta.json", "train.bin", "val.bin"], Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TrainBin_IsCompleteInStaging_WhileValIsStillBeingEncoded()
    {
        // One worker delivers each batch as it is added, so train.bin's completion starts as the text reaches val.
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "out");
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(i => $"word{i % 97} "));
        bool? completeInVal = null;
        var watch = new Progress(p =>
        {
            if (completeInVal is not null || p.Phase != PreparePhase.Encode || p.BytesDone < p.BytesTotal * 0.97 || p.BytesDone == p.BytesTotal) return;
            // Flushing it to disk takes its time on another thread: wait for it, up to 10 s.
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!(completeInVal = Directory.GetFiles(outDir, TokenCacheMeta.TrainFile, SearchOption.AllDirectories).Length > 0).Value && DateTime.UtcNow < until)
                Thread.Sleep(10);
        });
        var meta = CorpusPreparer.Prepare(new PrepareOptions(dir.File("b.txt", text), TokenizerKind.Cl100kBase, outDir, ChunkBytes: 1000, Workers: 1), watch);
        Assert.True(completeInVal);
        using var cache = TokenCache.Open(outDir);
        Assert.Equal(text, cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
        Assert.Equal((meta.TrainTokens, meta.ValTokens), (cache.Train.Count, cache.Val.Count));
    }

    static readonly string[] CacheFiles = [TokenCacheMeta.FileName, TokenCacheMeta.TrainFile, TokenCacheMeta.ValFile];

    /// <summary>
    /// Replaces the cache in <paramref name="outDir"/> with the one in <paramref name="newCache"/> as a prepare does,
    /// but fails as it writes the new meta.json; returns a copy of the folder made at that moment, which is what a
    /// prepare killed there (kill -9, a power cut) leaves.
    /// </summary>
    static string FailedReplacement(string outDir, string newCache, string copy)
    {
        var staging = Staged(outDir, newCache);
        Assert.Throws<IOException>(() => CacheReplacement.Land(outDir, staging, () =>
        {
            foreach (var file in Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories))
            {
                var to = Path.Combine(copy, Path.GetRelativePath(outDir, file));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
            }
            throw new IOException("disk full");
        }));
        Directory.Delete(staging, recursive: true);
        return copy;
    }

    /// <summary>A cache of "first corpus\n" (<paramref name="corpus"/>) in dir/out, and one of a second corpus in dir/new to replace it with.</summary>
    static (string Out, string New) TwoCaches(TempDir dir, out string corpus)
    {
        corpus = dir.File("a.txt", "first corpus\n");
        var (outDir, newDir) = (Path.Combine(dir.Path, "out"), Path.Combine(dir.Path, "new"));
        CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, outDir));
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("b.txt", "the second, longer corpus\n"), TokenizerKind.Char, newDir));
        return (outDir, newDir);
    }

    /// <summary>A staging folder in <paramref name="outDir"/> holding the train.bin and val.bin of <paramref name="newCache"/>, as a prepare has them before it lands.</summary>
    static string Staged(string outDir, string newCache)
    {
        var staging = CacheReplacement.NewStaging(outDir);
        foreach (var name in CacheFiles.Skip(1)) File.Copy(Path.Combine(newCache, name), Path.Combine(staging, name));
        return staging;
    }

    [Fact]
    public void CacheReplacedHalfway_ComesBack_AtOnceOnFailure_AndForItsNextReaderAfterAKill()
    {
        using var dir = new TempDir();
        var (outDir, newDir) = TwoCaches(dir, out var corpus);
        var before = CacheFiles.Select(n => File.ReadAllBytes(Path.Combine(outDir, n))).ToList();
        var killed = FailedReplacement(outDir, newDir, Path.Combine(dir.Path, "killed"));
        Assert.Equal(before, CacheFiles.Select(n => File.ReadAllBytes(Path.Combine(outDir, n))));   // the failure put it back
        Assert.False(File.Exists(Path.Combine(killed, TokenCacheMeta.FileName)));

        // While another process holds the folder (a reader putting the cache back, say), a reader waits for it, and
        // says so if it must give up, rather than call the cache missing.
        var held = CacheReplacement.TryHold(killed)!;
        var busy = Assert.Throws<DataException>(() => CacheReplacement.Recover(killed, TimeSpan.Zero));
        Assert.Equal($"token cache {killed} is being prepared or put back by another process", busy.Message);
        // Ctrl+C ends the wait, before the patience runs out, and leaves the cache aside for the next reader.
        using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
            Assert.ThrowsAny<OperationCanceledException>(() => CacheReplacement.Recover(killed, TimeSpan.FromSeconds(5), stop.Token));
        Assert.False(File.Exists(Path.Combine(killed, TokenCacheMeta.FileName)));
        using var started = new ManualResetEventSlim();
        var opening = Task.Factory.StartNew(() => { started.Set(); return TokenCache.Open(killed); }, TaskCreationOptions.LongRunning);
        started.Wait();
        Thread.Sleep(300);
        held.Dispose();
        using (var cache = opening.Result)
            Assert.Equal("first corpus\n", cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
        Assert.Equal(before, CacheFiles.Select(n => File.ReadAllBytes(Path.Combine(killed, n))));
        Assert.Empty(Directory.GetDirectories(killed));

        // A training run with the corpus reuses it rather than preparing again.
        killed = FailedReplacement(outDir, newDir, Path.Combine(dir.Path, "killed again"));
        var written = File.GetLastWriteTimeUtc(Directory.GetFiles(killed, TokenCacheMeta.FileName, SearchOption.AllDirectories).Single());
        using (MiniGpt.Training.TrainingData.Open(new MiniGpt.Config.TrainConfig { Corpus = corpus, DataDir = killed, Tokenizer = TokenizerKind.Char, BlockSize = 1, BatchSize = 1 }))
            Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(killed, TokenCacheMeta.FileName)));   // that file, not a new one
    }

    [Fact]
    public void ACacheThatCannotBePutBack_StaysAside_AndTheFirstFailureIsTheOneReported()
    {
        using var dir = new TempDir();
        var (outDir, newDir) = TwoCaches(dir, out _);
        var before = CacheFiles.Select(n => File.ReadAllBytes(Path.Combine(outDir, n))).ToList();
        var staging = Staged(outDir, newDir);
        var train = Path.Combine(outDir, TokenCacheMeta.TrainFile);
        var ex = Assert.Throws<IOException>(() => CacheReplacement.Land(outDir, staging, () =>
        {
            File.Delete(train);
            Directory.CreateDirectory(train);   // so that putting the old train.bin back fails too
            throw new IOException("disk full");
        }));
        Assert.Equal("disk full", ex.Message);
        CacheReplacement.Discard(outDir, staging);
        Directory.Delete(train);
        CacheReplacement.Recover(outDir);
        Assert.Equal(before, CacheFiles.Select(n => File.ReadAllBytes(Path.Combine(outDir, n))));
    }

    [Fact]
    public void WhatAKilledFirstPrepareLeaves_DoesNotBlockTheNext_AndAUsersFoldersAreNotItsStaging()
    {
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "out");
        // Killed as it wrote the first meta.json: its half-written file, and a user's notes in a look-alike folder.
        dir.File("out/.meta.json.0123456789abcdef0123456789abcdef.tmp", "{\"format_ver");
        dir.File("out/.prepare.lock", "");
        dir.File("out/.staging-notes/important.txt", "keep me");
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "abc abc\n"), TokenizerKind.Char, outDir)));
        Assert.Contains("not empty", ex.Message);   // the user's folder is not the cache's
        Directory.Delete(Path.Combine(outDir, ".staging-notes"), recursive: true);
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "abc abc\n"), TokenizerKind.Char, outDir));
        using var cache = TokenCache.Open(outDir);
        dir.File("out/.staging-notes/important.txt", "keep me");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "abc abd\n"), TokenizerKind.Char, outDir));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(outDir, ".staging-notes", "important.txt")));
    }

    [Fact]
    public void CacheReplacedHalfway_ComesBack_WhenTheNextPrepareFails()
    {
        using var dir = new TempDir();
        var (outDir, newDir) = TwoCaches(dir, out _);
        var meta = File.ReadAllBytes(Path.Combine(outDir, TokenCacheMeta.FileName));
        var killed = FailedReplacement(outDir, newDir, Path.Combine(dir.Path, "killed"));
        var bad = dir.File("bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": 3}\n");
        Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(new PrepareOptions(bad, TokenizerKind.Char, killed)));
        Assert.Equal(meta, File.ReadAllBytes(Path.Combine(killed, TokenCacheMeta.FileName)));
        using var cache = TokenCache.Open(killed);
        Assert.Equal("first corpus\n", cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
    }

    [Fact]
    public void OutFolderWithOtherFiles_IsNotUsed()
    {
        using var dir = new TempDir();
        dir.File("mine/notes.txt", "keep me");
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("a.txt", "abc"), TokenizerKind.Char, Path.Combine(dir.Path, "mine"))));
        Assert.Contains("not empty", ex.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(dir.Path, "mine", "notes.txt")));
    }

    sealed class Progress(Action<PrepareProgress> onReport) : IProgress<PrepareProgress>
    {
        public void Report(PrepareProgress value) => onReport(value);
    }
}
