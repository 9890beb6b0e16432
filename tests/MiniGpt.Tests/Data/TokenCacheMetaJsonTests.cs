using System.Text.Json;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

/// <summary>meta.json as <see cref="TokenCacheMeta.Save"/> writes it, without the serializer, against the serializer's text of the same record.</summary>
public class TokenCacheMetaJsonTests
{
    static string Written(TokenCacheMeta meta)
    {
        using var dir = new TempDir();
        meta.Save(dir.Path);
        return File.ReadAllText(Path.Combine(dir.Path, TokenCacheMeta.FileName));
    }

    /// <summary>Strings JSON must escape, or that an HTML-safe encoder would: quotes, controls, "&lt;|", non-ASCII, a lone surrogate.</summary>
    const string Awkward = "a \"quoted\" \\ path/\n\t\u0001<|endoftext|> & café 日本 😀 \uD800 \u2028";

    static TokenCacheMeta Full(string text, double valFraction) => new(TokenCacheMeta.CurrentFormat,
        new TokenizerDescription(TokenizerKind.Bpe, Chars: text, VocabJson: "{\"a\": 0}", Merges: "a b\n", Tiktoken: "YQ== 0\n", CompactIds: [5, 0, 100276]),
        VocabSize: 4, BytesPerToken: 2, CorpusBytes: long.MaxValue, CorpusSha256: new string('f', 64), CorpusFiles: [text, "b.jsonl"],
        valFraction, TrainTokens: 1L << 40, ValTokens: 0, TrainChars: 3, ValChars: 1, TrainBytes: 9, ValBytes: 1)
    {
        Documents = 7,
        ValDocuments = 2,
        SkippedDocuments = 0,
        TextField = text,
        Sources =
        [
            new SourceFile(text, 12, new string('0', 64), new DateTime(2026, 12, 5, 21, 7, 55, DateTimeKind.Utc).AddTicks(1179485)),
            new SourceFile("b.jsonl", 0, new string('a', 64), DateTime.UnixEpoch),
        ],
    };

    [Theory]
    [InlineData("corpus.txt", 0.1)]
    [InlineData(Awkward, 1e-7)]
    [InlineData(Awkward, 0.30000000000000004)]
    [InlineData("", 1.0 / 3)]
    public void Write_IsTheSerializersText_WithEveryFieldSet(string text, double valFraction)
    {
        var meta = Full(text, valFraction);
        // Every field is set, so one added to the record and not to the writer fails here.
        foreach (var value in new object[] { meta, meta.Tokenizer, meta.Sources![0] })
            Assert.All(value.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract"),
                p => Assert.NotNull(p.GetValue(value)));
        Assert.Equal(JsonSerializer.Serialize(meta, TokenCacheMeta.Json), Written(meta));
    }

    [Fact]
    public void Write_LeavesOutWhatIsNull_AsTheSerializerDoes()
    {
        var meta = new TokenCacheMeta(TokenCacheMeta.CurrentFormat, new TokenizerDescription(TokenizerKind.Cl100kBase), 100277, 4,
            10, new string('e', 64), ["a.txt"], 0.1, 2, 1, 9, 1, 9, 1);
        var text = Written(meta);
        Assert.Equal(JsonSerializer.Serialize(meta, TokenCacheMeta.Json), text);
        Assert.DoesNotContain("documents", text);
        Assert.DoesNotContain("sources", text);
    }

    [Fact]
    public void Write_LeavesOutANullTheRecordsTypesDoNotAllow_AsTheSerializerDoes()
    {
        // MiniGpt makes none of these; a record made by hand can, and the two texts stay the same.
        var meta = Full("a.txt", 0.1) with { Tokenizer = null!, CorpusSha256 = null!, CorpusFiles = null!, Sources = [new SourceFile(null!, 1, null!, DateTime.UnixEpoch)] };
        Assert.Equal(JsonSerializer.Serialize(meta, TokenCacheMeta.Json), Written(meta));
    }

    [Fact]
    public void WhatIsWritten_ReadsBackAsTheSameRecord()
    {
        using var dir = new TempDir();
        // Without the lone surrogate, which JSON cannot hold: either writer puts U+FFFD in its place.
        var meta = Full(Awkward.Replace("\uD800", ""), 0.1);
        meta.Save(dir.Path);
        var read = TokenCacheMeta.Load(dir.Path);
        Assert.Equal(JsonSerializer.Serialize(meta, TokenCacheMeta.Json), JsonSerializer.Serialize(read, TokenCacheMeta.Json));
        Assert.True(read.Tokenizer.SameTokenizer(meta.Tokenizer));
        Assert.Equal(meta.Sources, read.Sources);
    }
}
