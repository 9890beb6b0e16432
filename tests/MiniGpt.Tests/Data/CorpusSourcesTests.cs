using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Data;

/// <summary>A token cache records its source files, and is not reused for a corpus that changed since.</summary>
public class CorpusSourcesTests
{
    [Fact]
    public void MetaJson_RecordsEachSourceFile_WithItsSizeAndHash()
    {
        using var dir = new TempDir();
        dir.File("corpus/a.txt", "hello\n");
        dir.File("corpus/sub/b.txt", "world\n");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus"), TokenizerKind.Char, Path.Combine(dir.Path, "cache")));
        // sha256("hello\n") and sha256("world\n")
        Assert.Equal([("a.txt", 6L, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),
                      (Path.Combine("sub", "b.txt"), 6L, "e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317")],
            meta.Sources!.Select(s => (s.Path, s.Bytes, s.Sha256)));
        Assert.Equal(meta.Sources!.Select(s => s.Path), TokenCacheMeta.Load(Path.Combine(dir.Path, "cache")).Sources!.Select(s => s.Path));
    }

    [Fact]
    public void TheCorpusHash_IsTheSha256OfItsFilesOneAfterAnother()
    {
        using var dir = new TempDir();
        dir.File("corpus/a.txt", "hello\n");
        dir.File("corpus/b.txt", "world\n");
        string Sha(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
        var folder = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus"), TokenizerKind.Char, dir.File("c1")));
        var file = CorpusPreparer.Prepare(new PrepareOptions(Path.Combine(dir.Path, "corpus", "b.txt"), TokenizerKind.Char, dir.File("c2")));
        Assert.Equal((Sha("hello\nworld\n"), Sha("world\n")), (folder.CorpusSha256, file.CorpusSha256));
    }

    [Theory]
    [InlineData("edit", "corpus.txt was edited (its SHA-256 differs)")]
    [InlineData("grow", "corpus.txt now holds")]
    public void ACorpusFileThatChanged_IsReported_NotReused(string change, string message)
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1, EvalInterval = 1 };
        using (new Trainer(c)) { }
        var text = File.ReadAllText(c.Corpus!);
        File.WriteAllText(c.Corpus!, change == "edit" ? text.Replace("fox", "cat") : text + "more\n");
        File.SetLastWriteTimeUtc(c.Corpus!, DateTime.UtcNow.AddMinutes(1));
        var ex = Assert.Throws<TokenCacheException>(() => new Trainer(c with { OutDir = Path.Combine(dir.Path, "run2") }));
        Assert.Contains($"token cache {c.DataDir} does not hold the corpus {c.Corpus} as it is now: {message}", ex.Message);
    }

    [Fact]
    public void ACacheSplitOtherwiseThanTheConfigSays_IsReported_NotReused()
    {
        // val_fraction 0.5 trained on the cache's 0.1 split without a word; so would a changed text_field or val_documents.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1, EvalInterval = 1 };
        using (new Trainer(c)) { }
        var ex = Assert.Throws<TokenCacheException>(() => new Trainer(c with { OutDir = Path.Combine(dir.Path, "run2"), ValFraction = 0.5 }));
        Assert.Equal($"token cache {c.DataDir} was prepared with val_fraction = 0.1, but the config says 0.5; it is not reused, so that a run's val split is the one its config names", ex.Message);

        var docs = CorpusFiles.JsonLines(dir.File("docs.jsonl"), Enumerable.Range(0, 200).Select(i => $"{{\"text\": \"document {i}: the quick brown fox\", \"body\": \"x\"}}").ToArray());
        var d = c with { Corpus = docs, DataDir = Path.Combine(dir.Path, "docs-cache"), OutDir = Path.Combine(dir.Path, "run3"), ValDocuments = 20 };
        using (new Trainer(d)) { }
        Assert.Contains("was prepared with 20 of its 200 documents held out for val, but the config's val_documents = 30",
            Assert.Throws<TokenCacheException>(() => new Trainer(d with { OutDir = Path.Combine(dir.Path, "run4"), ValDocuments = 30 })).Message);
        // Asked for as a fraction the count is the same (ceil(200 × 0.1) = 20): the same split, reused; 0.2 is another.
        using (new Trainer(d with { OutDir = Path.Combine(dir.Path, "run7"), ValDocuments = null })) { }
        Assert.Contains("was prepared with 20 of its 200 documents held out for val, but the config's val_fraction = 0.2 holds out 40",
            Assert.Throws<TokenCacheException>(() => new Trainer(d with { OutDir = Path.Combine(dir.Path, "run8"), ValDocuments = null, ValFraction = 0.2 })).Message);
        // A text is split by character: val_documents does not apply to it, and a config that gives it starts again.
        using (new Trainer(c with { OutDir = Path.Combine(dir.Path, "run9"), ValDocuments = 100 })) { }
        Assert.Contains("was prepared with text_field = 'text', but the config says 'body'",
            Assert.Throws<TokenCacheException>(() => new Trainer(d with { OutDir = Path.Combine(dir.Path, "run5"), TextField = "body" })).Message);
        using (new Trainer(d with { OutDir = Path.Combine(dir.Path, "run6") })) { }   // as prepared: reused
    }

    [Fact]
    public void ACacheOfAnotherCorpus_IsNamedAsSuch()
    {
        // A cache built from other.txt, and a config whose corpus is corpus.txt: "corpus.txt was added", which it was not.
        using var dir = new TempDir();
        var meta = CorpusPreparer.Prepare(new PrepareOptions(dir.File("other.txt", "some other text\n"), TokenizerKind.Char, Path.Combine(dir.Path, "cache")));
        Assert.Equal("it was built from other.txt", CorpusSources.Changed(meta.Sources!, dir.File("corpus.txt", "the corpus\n")));
        dir.File("folder/a.txt", "a\n");
        Assert.Equal("it was built from other.txt", CorpusSources.Changed(meta.Sources!, Path.Combine(dir.Path, "folder")));
    }

    [Fact]
    public void AFileAddedToOrRemovedFromTheCorpusFolder_IsReported()
    {
        using var dir = new TempDir();
        dir.File("corpus/a.txt", string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog\n", 50)));
        var corpus = Path.Combine(dir.Path, "corpus");
        var meta = CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, Path.Combine(dir.Path, "cache")));
        dir.File("corpus/b.txt", "new\n");
        Assert.Equal("b.txt was added", CorpusSources.Changed(meta.Sources!, corpus));
        File.Delete(Path.Combine(corpus, "b.txt"));
        Assert.Null(CorpusSources.Changed(meta.Sources!, corpus));
        dir.File("corpus/other.txt", "x\n");
        File.Delete(Path.Combine(corpus, "a.txt"));
        Assert.Equal("it was built from a.txt", CorpusSources.Changed(meta.Sources!, corpus));   // none of its files is left
        File.Delete(Path.Combine(corpus, "other.txt"));
        dir.File("corpus/other.md", "ignored: not a corpus file\n");
        Assert.Equal("a.txt was removed", CorpusSources.Changed(meta.Sources!, corpus));
    }

    [Fact]
    public void ATouchedButUnchangedCorpus_OrOneDeletedAfterPreparing_KeepsItsCache()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1, EvalInterval = 1 };
        using (new Trainer(c)) { }
        File.SetLastWriteTimeUtc(c.Corpus!, DateTime.UtcNow.AddMinutes(1));
        using (new Trainer(c with { OutDir = Path.Combine(dir.Path, "run2") })) { }
        File.Delete(c.Corpus!);
        using (new Trainer(c with { OutDir = Path.Combine(dir.Path, "run3") })) { }
    }
}
