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
}
