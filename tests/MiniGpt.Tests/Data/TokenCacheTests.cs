using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class TokenCacheTests
{
    static string Prepared(TempDir dir)
    {
        var outDir = Path.Combine(dir.Path, "cache");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("c.txt", "some text for a cache\n"), TokenizerKind.Char, outDir));
        return outDir;
    }

    [Fact]
    public void DifferentTokenizer_IsRejected_NamingBoth()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache, TokenizerKind.Cl100kBase));
        Assert.Equal($"token cache {cache} was built with tokenizer char, but cl100k_base was asked for", ex.Message);
    }

    [Fact]
    public void DamagedOrOtherVersionMetadata_IsRejected()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var metaPath = Path.Combine(cache, TokenCacheMeta.FileName);
        var good = File.ReadAllText(metaPath);
        File.WriteAllText(metaPath, good[..(good.Length / 2)]);
        Assert.Contains(metaPath, Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache)).Message);
        File.WriteAllText(metaPath, good.Replace("\"format_version\": 2", "\"format_version\": 99"));
        Assert.Contains("format 99", Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache)).Message);
        File.WriteAllText(metaPath, good.Replace("\"train_tokens\": 19", "\"train_tokens\": 18"));
        Assert.Contains("inconsistent", Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache)).Message);
        File.WriteAllText(metaPath, good.Replace("\"kind\": \"char\"", "\"kind\": \"words\""));
        Assert.Contains(metaPath, Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache)).Message);
    }

    [Theory]
    [InlineData("\"format_version\": \"2\"", "damaged metadata: ")]   // a string where a number goes: it was an internal error, deciding whether to rebuild
    [InlineData("\"format_version\": null", "damaged metadata: ")]
    [InlineData("\"val_chars\": 0", "damaged metadata: 3 val tokens cannot be 0 characters in 3 bytes")]   // eval's bits per character were Infinity
    [InlineData("\"val_chars\": -5", "damaged metadata: val_tokens, val_chars and val_bytes must be ≥ 0, not 3, -5 and 3")]
    [InlineData("\"train_bytes\": 1", "damaged metadata: 19 train tokens cannot be 19 characters in 1 bytes")]
    public void MetadataThatCannotBe_IsDamage(string replacement, string problem)
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var metaPath = Path.Combine(cache, TokenCacheMeta.FileName);
        var good = File.ReadAllText(metaPath);
        var key = replacement[..(replacement.IndexOf(':') + 1)];
        var bad = System.Text.RegularExpressions.Regex.Replace(good, System.Text.RegularExpressions.Regex.Escape(key) + " [0-9]+", replacement);
        Assert.NotEqual(good, bad);
        File.WriteAllText(metaPath, bad);
        Assert.False(TokenCacheMeta.IsOutdated(cache));
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache));
        Assert.StartsWith($"{metaPath}: {problem}", ex.Message);
    }

    [Fact]
    public void AMetaJsonOverTheLimit_IsDamage_NotRead()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var metaPath = Path.Combine(cache, TokenCacheMeta.FileName);
        using (var f = new FileStream(metaPath, FileMode.Open)) f.SetLength(TokenCacheMeta.MaxBytes + 1);   // sparse
        Assert.False(TokenCacheMeta.IsOutdated(cache));
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache));
        Assert.Equal($"{metaPath}: damaged metadata: 268,435,457 bytes, more than the 268,435,456 a meta.json may have", ex.Message);
    }

    [Fact]
    public void AMetaJsonOfNoBytes_IsDamage_Unopened()
    {
        // /dev/zero, through a link, says 0 bytes and was read until memory ran out; a FIFO's open waited for ever.
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var metaPath = Path.Combine(cache, TokenCacheMeta.FileName);
        foreach (var make in new Action[] { () => File.CreateSymbolicLink(metaPath, "/dev/zero"), () => Fifo.Make(metaPath) })
        {
            File.Delete(metaPath);
            make();
            Assert.False(Fifo.Within(metaPath, () => TokenCacheMeta.IsOutdated(cache)));
            var ex = Assert.Throws<TokenCacheException>(() => Fifo.Within(metaPath, () => TokenCache.Open(cache)));
            Assert.Equal($"{metaPath}: 0 bytes (an empty file, or a pipe or device)", ex.Message);
        }
    }

    [Fact]
    public void ATokenFileThatIsAPipe_IsRefusedUnopened()
    {
        // eval and train hung for ever on a FIFO in place of train.bin.
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var train = Path.Combine(cache, TokenCacheMeta.TrainFile);
        File.Delete(train);
        Fifo.Make(train);
        var ex = Assert.ThrowsAny<DataException>(() => Fifo.Within(train, () => TokenCache.Open(cache)));
        Assert.Equal($"{train}: 0 bytes (an empty file, or a pipe or device), too short for a token file header", ex.Message);
    }

    [Fact]
    public void ARecordOfCheckedIdsOfNoBytes_IsNoRecord_AndTheIdsAreCheckedAgain()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        TokenCache.Open(cache).Dispose();
        var record = Path.Combine(cache, TokenCache.VerifiedFile);
        var stamp = File.ReadAllText(record);
        foreach (var make in new Action[] { () => File.CreateSymbolicLink(record, "/dev/zero"), () => Fifo.Make(record) })
        {
            File.Delete(record);
            make();
            Fifo.Within(record, () => { TokenCache.Open(cache).Dispose(); return 0; });   // no match: the ids checked again
            Assert.Equal(stamp, File.ReadAllText(record));   // and the record written over the link or pipe
        }
    }

    [Fact]
    public void OutdatedCache_IsRebuiltFromTheCorpus_WhenTrainingNamesOne()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        using (MiniGpt.Training.TrainingData.Open(c)) { }
        var metaPath = Path.Combine(c.DataDir, TokenCacheMeta.FileName);
        File.WriteAllText(metaPath, File.ReadAllText(metaPath).Replace($"\"format_version\": {TokenCacheMeta.CurrentFormat}", "\"format_version\": 1"));
        Assert.True(TokenCacheMeta.IsOutdated(c.DataDir));
        using (var data = MiniGpt.Training.TrainingData.Open(c)) Assert.Equal(TokenCacheMeta.CurrentFormat, data.Cache.Meta.FormatVersion);
        Assert.False(TokenCacheMeta.IsOutdated(c.DataDir));
    }

    [Fact]
    public void MissingCache_IsATokenCacheError_NamingTheFolder()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(dir.Path));
        Assert.Equal((dir.Path, $"no token cache at {dir.Path} (meta.json missing)"), (ex.Path, ex.Message));
    }

    [Fact]
    public void AnIdOutsideTheVocabulary_IsFoundAtTheFirstOpen_NamingFileAndPosition()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var train = Path.Combine(cache, TokenCacheMeta.TrainFile);
        int vocab = TokenCacheMeta.Load(cache).VocabSize;
        SetId(train, 7, vocab);                                           // a crafted file: its header CRC is still valid
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache));
        Assert.Equal($"{train}: token 7 has id {vocab}, outside the vocabulary of {vocab}", ex.Message);
        Assert.False(File.Exists(Path.Combine(cache, TokenCache.VerifiedFile)));
    }

    [Fact]
    public void TheCheck_IsRecorded_AndRepeatedOnlyWhenAFileChanges()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        using (TokenCache.Open(cache)) { }
        Assert.True(File.Exists(Path.Combine(cache, TokenCache.VerifiedFile)));
        var train = Path.Combine(cache, TokenCacheMeta.TrainFile);
        var when = File.GetLastWriteTimeUtc(train);
        SetId(train, 3, 1000);
        File.SetLastWriteTimeUtc(train, when);
        using (TokenCache.Open(cache)) { }                               // same size and time: the record stands, no rescan
        File.SetLastWriteTimeUtc(train, when.AddSeconds(1));
        Assert.Contains("token 3 has id 1000", Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache)).Message);
    }

    [Fact]
    public void AVocabSizeThatIsNotTheTokenizers_IsRefused()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var metaPath = Path.Combine(cache, TokenCacheMeta.FileName);
        int vocab = TokenCacheMeta.Load(cache).VocabSize;
        File.WriteAllText(metaPath, File.ReadAllText(metaPath).Replace($"\"vocab_size\": {vocab}", "\"vocab_size\": 100000000"));
        var ex = Assert.Throws<TokenCacheException>(() => TokenCache.Open(cache));
        Assert.Equal($"{metaPath}: vocab_size is 100000000, but its tokenizer has {vocab} ids", ex.Message);
    }

    [Fact]
    public void ADamagedMetaJson_IsReported_NotRebuiltFromTheCorpus()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        using (MiniGpt.Training.TrainingData.Open(c)) { }
        var metaPath = Path.Combine(c.DataDir, TokenCacheMeta.FileName);
        var train = File.ReadAllBytes(Path.Combine(c.DataDir, TokenCacheMeta.TrainFile));
        File.WriteAllText(metaPath, "{ \"format_version\": 2, \"tokeni");
        var ex = Assert.Throws<TokenCacheException>(() => MiniGpt.Training.TrainingData.Open(c));
        Assert.StartsWith($"{metaPath}: damaged metadata: ", ex.Message);
        Assert.Equal(train, File.ReadAllBytes(Path.Combine(c.DataDir, TokenCacheMeta.TrainFile)));
    }

    [Fact]
    public void AStagingFolderLeftByADeadPrepare_BlocksNothing_AndIsRemoved()
    {
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "cache");
        dir.File("cache/.staging-0123456789abcdef0123456789abcdef/train.bin", "half a file");   // an interrupted first prepare
        dir.File("cache/.prepare.lock", "");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("c.txt", "some text for a cache\n"), TokenizerKind.Char, outDir));
        Assert.Empty(Directory.GetDirectories(outDir));
        using var cache = TokenCache.Open(outDir);
        Assert.Equal("some text for a cache\n", cache.Tokenizer.Decode(cache.Train.ReadAll().Concat(cache.Val.ReadAll()).Select(i => (int)i)));
    }

    [Fact]
    public void APrepareKilledAsItReplacedACache_BlocksNothing()
    {
        // Killed after it removed the old meta.json and before the new one landed: the folder held train.bin and val.bin
        // alone, and every later prepare (and train, which prepares) refused it as "not empty and holds no token cache".
        using var dir = new TempDir();
        var cache = Prepared(dir);
        File.Delete(Path.Combine(cache, TokenCacheMeta.FileName));
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("d.txt", "other text\n"), TokenizerKind.Char, cache));
        using (var reopened = TokenCache.Open(cache))
            Assert.Equal("other text\n", reopened.Tokenizer.Decode(reopened.Train.ReadAll().Concat(reopened.Val.ReadAll()).Select(i => (int)i)));
        // Another tool's train.bin (nanoGPT's is bare uint16 ids) is still not ours to replace.
        var other = Path.Combine(dir.Path, "nanogpt");
        var bare = dir.File("nanogpt/train.bin", "\u0001\u0000\u0002\u0000 bare ids, no header of ours");
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("e.txt", "text\n"), TokenizerKind.Char, other)));
        Assert.Equal($"{other} is not empty and holds no token cache; a token cache needs an empty or new folder", ex.Message);
        Assert.Equal("\u0001\u0000\u0002\u0000 bare ids, no header of ours", File.ReadAllText(bare));
    }

    [Fact]
    public void ALockThatCannotBeOpened_IsNotAPrepareAtWork()
    {
        // A read-only cache folder was "being prepared by another process".
        using var dir = new TempDir();
        var cache = dir.File("cache/.prepare.lock");
        File.Delete(cache);
        File.CreateSymbolicLink(cache, cache);   // a loop: opening it fails with no lock held
        var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("d.txt", "text\n"), TokenizerKind.Char, Path.GetDirectoryName(cache)!)));
        Assert.StartsWith($"cannot prepare a token cache in {Path.GetDirectoryName(cache)}: ", ex.Message);
    }

    [Fact]
    public void APrepareWhileAnotherRuns_IsRefused_AndChangesNothing()
    {
        using var dir = new TempDir();
        var cache = Prepared(dir);
        var before = File.ReadAllBytes(Path.Combine(cache, TokenCacheMeta.TrainFile));
        using (new FileStream(Path.Combine(cache, ".prepare.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))   // as the other prepare holds it
        {
            var ex = Assert.Throws<DataException>(() => CorpusPreparer.Prepare(new PrepareOptions(dir.File("d.txt", "other text\n"), TokenizerKind.Char, cache)));
            Assert.Equal($"token cache {cache} is being prepared by another process", ex.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(cache, TokenCacheMeta.TrainFile)));
    }

    /// <summary>Overwrites one uint16 id in place, leaving the header (and its CRC) as it was.</summary>
    static void SetId(string tokenFile, long position, int id)
    {
        using var f = new FileStream(tokenFile, FileMode.Open, FileAccess.Write);
        f.Position = TokenFile.HeaderSize + position * 2;
        f.Write(BitConverter.GetBytes((ushort)id));
    }
}
