using System.Text.Json;
using MiniGpt.Data;
using MiniGpt.Formats;

namespace MiniGpt.Tests.Formats;

/// <summary>The tokenizer.json files hold together: what Hugging Face checks on loading, and what its ids rely on.</summary>
public class HfTokenizerStructureTests(HfExports exports) : IClassFixture<HfExports>
{
    [Theory]
    [InlineData("cl100k_base", 100_277, 233_378, new[] { 100_256, 100_261, 100_275 })]
    [InlineData("o200k_base", 200_019, 446_189, new[] { 199_998, 200_000, 200_017 })]
    [InlineData("tiktoken_small", 260, 4, new int[0])]
    public void TiktokenBpe_VocabularyHasNoGaps_AndEveryMergeIsOfTokens_InRankOrder(string name, int vocabSize, int mergeCount, int[] unused)
    {
        var model = exports.TokenizerJson(name).GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        Assert.True(model.GetProperty("ignore_merges").GetBoolean());   // tiktoken takes a piece that is a token whole
        var vocab = Vocab(model);
        // Ids 0 … vocabSize-1, each once: Hugging Face numbers added tokens after the vocabulary, so a gap would move them.
        Assert.Equal(Enumerable.Range(0, vocabSize), vocab.Values.Order());
        Assert.Equal(unused.Select(id => $"<|unused {id}|>"), unused.Select(id => vocab.Single(kv => kv.Value == id).Key));
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!.Split(' ')).ToList();
        Assert.Equal(mergeCount, merges.Count);
        int previous = -1;
        foreach (var m in merges)
        {
            Assert.Equal(2, m.Length);
            Assert.True(vocab.ContainsKey(m[0]) && vocab.ContainsKey(m[1]), $"merge '{m[0]} {m[1]}' has a part outside the vocabulary");
            Assert.True(vocab.TryGetValue(m[0] + m[1], out int rank), $"merge '{m[0]} {m[1]}' makes a token outside the vocabulary");
            Assert.True(rank >= previous, $"merge '{m[0]} {m[1]}' (rank {rank}) comes after rank {previous}");
            previous = rank;
        }
    }

    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("o200k_base")]
    [InlineData("gpt2_small")]
    public void SpecialTokens_AreAddedTokens_WithMiniGptsIds(string name)
    {
        var json = exports.TokenizerJson(name);
        var vocab = Vocab(json.GetProperty("model"));
        var special = ((LibraryTokenizer)Tokenizers.FromDescription(HfExports.Description(name), "test")).SpecialTokens;
        var added = json.GetProperty("added_tokens").EnumerateArray().ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
        Assert.Equal(special.OrderBy(kv => kv.Value), added.OrderBy(kv => kv.Value));
        // In the vocabulary too, at the same id, which Hugging Face then keeps.
        Assert.All(added, kv => Assert.Equal(kv.Value, vocab[kv.Key]));
        Assert.All(json.GetProperty("added_tokens").EnumerateArray(), t => Assert.True(t.GetProperty("special").GetBoolean()));
    }

    [Fact]
    public void CharTokenizer_SplitsEveryCharacter_AndHasNoUnknownToken()
    {
        var json = exports.TokenizerJson("char");
        var chars = HfExports.Description("char").Chars!.EnumerateRunes().Select(r => r.ToString()).ToList();
        var model = json.GetProperty("model");
        Assert.Equal("WordLevel", model.GetProperty("type").GetString());
        Assert.Equal(chars.Select((c, id) => KeyValuePair.Create(c, id)), Vocab(model));   // ids in the sorted order, spaces and newlines included
        // Hugging Face then fails on a character outside the vocabulary, as MiniGpt does.
        Assert.DoesNotContain(model.GetProperty("unk_token").GetString()!, chars);
        Assert.Equal(@"[\s\S]", json.GetProperty("pre_tokenizer").GetProperty("pattern").GetProperty("Regex").GetString());
        Assert.Equal("Fuse", json.GetProperty("decoder").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("normalizer").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("post_processor").ValueKind);
    }

    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("o200k_base")]
    [InlineData("tiktoken_small")]
    [InlineData("gpt2_small")]
    public void BytePipeline_SplitsWithMiniGptsPattern_ThenMapsBytes(string name)
    {
        var json = exports.TokenizerJson(name);
        var steps = json.GetProperty("pre_tokenizer").GetProperty("pretokenizers").EnumerateArray().ToList();
        var pattern = ((LibraryTokenizer)Tokenizers.FromDescription(HfExports.Description(name), "test")).Pattern;
        Assert.Equal(["Split", "ByteLevel"], steps.Select(s => s.GetProperty("type").GetString()));
        // MiniGpt's own pattern, spelled so that Oniguruma reads characters beyond U+FFFF as .NET does.
        Assert.Equal(OnigurumaPattern.FromDotNet(pattern), steps[0].GetProperty("pattern").GetProperty("Regex").GetString());
        Assert.Equal("Isolated", steps[0].GetProperty("behavior").GetString());
        Assert.False(steps[1].GetProperty("use_regex").GetBoolean());
        Assert.False(steps[1].GetProperty("add_prefix_space").GetBoolean());
        Assert.Equal("ByteLevel", json.GetProperty("decoder").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("normalizer").ValueKind);
    }

    [Fact]
    public void OnigurumaPattern_KeepsDotNetsReadingOfCharactersBeyondUffff()
    {
        // GPT-2's pattern: a property alone matches up to U+FFFF only; a negated class repeated takes the rest too.
        // And cl100k_base's $: the end of the text, or before a newline that ends it, and not of every line.
        Assert.Equal(@"'s| ?[\p{L}&&[\x{0}-\x{FFFF}]]+| ?[\x{10000}-\x{10FFFF}[^\s\p{L}\p{N}]]+|\s+(?!\S)|(?>\s+)(?=\n?(?![\s\S]))",
            OnigurumaPattern.FromDotNet(@"'s| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|(?>\s+)$"));
        // o200k_base's: a positive class up to U+FFFF only; a negated class taken once takes none beyond it.
        Assert.Equal(@"[^\r\n\p{L}\p{N}\x{10000}-\x{10FFFF}]?[\p{Lu}\p{M}&&[\x{0}-\x{FFFF}]]*[\r\n/]*\[x]",
            OnigurumaPattern.FromDotNet(@"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{M}]*[\r\n/]*\[x]"));
    }

    static Dictionary<string, int> Vocab(JsonElement model)
        => model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
}
