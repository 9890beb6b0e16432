using System.Text.Json;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Formats;

/// <summary>
/// Hugging Face gives MiniGpt's ids. The goldens hold the ids that Hugging Face's tokenizers (scripts/
/// check_hf_tokenizer.mjs) gave for a tokenizer.json of a known SHA-256; so if MiniGpt's ids equal the goldens and
/// the tokenizer.json written now has that hash, Hugging Face encodes like MiniGpt today.
/// </summary>
public class HfTokenizerTests(HfExports exports) : IClassFixture<HfExports>
{
    [Theory]
    [MemberData(nameof(HfExports.Cases), MemberType = typeof(HfExports))]
    public void MiniGptIds_AreTheIdsHuggingFaceGave(string name)
    {
        var golden = HfExports.Golden(name);
        var text = HfExports.Text(name);
        Assert.Equal(golden.GetProperty("text_sha256").GetString(), HfExports.Sha256(text));   // the same text, line endings included
        Assert.True(golden.GetProperty("round_trip").GetBoolean(), "Hugging Face decoded the ids back to the text");
        var ids = Tokenizers.FromDescription(HfExports.Description(name), "test").Encode(System.Text.Encoding.UTF8.GetString(text));
        Assert.Equal(golden.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), ids);
    }

    [Theory]
    [MemberData(nameof(HfExports.Cases), MemberType = typeof(HfExports))]
    public void TokenizerJson_IsTheOneTheGoldensWereMadeFrom(string name)
    {
        var path = Path.Combine(exports.Written(name).Dir, HfTokenizer.TokenizerFile);
        // To remake the goldens: this writes the tokenizer.json files and texts for check_hf_tokenizer.mjs.
        if (Environment.GetEnvironmentVariable("MINIGPT_HF_FIXTURE_OUT") is { Length: > 0 } outDir)
        {
            Directory.CreateDirectory(outDir);
            File.Copy(path, Path.Combine(outDir, $"{name}.tokenizer.json"), overwrite: true);
            File.WriteAllBytes(Path.Combine(outDir, $"{name}.txt"), HfExports.Text(name));
        }
        Assert.Equal(HfExports.Golden(name).GetProperty("tokenizer_sha256").GetString(), HfExports.Sha256(File.ReadAllBytes(path)));
    }

    [Fact]
    public void CharTokenizerJson_IsTheCommittedOne()
        => Assert.Equal(File.ReadAllBytes(Path.Combine(HfExports.FixtureDir, "char.tokenizer.json")),
                        File.ReadAllBytes(Path.Combine(exports.Written("char").Dir, HfTokenizer.TokenizerFile)));

    [Theory]
    [InlineData("char", new[] { "tokenizer.json", "tokenizer_config.json" })]
    [InlineData("cl100k_base", new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })]
    [InlineData("tiktoken_small", new[] { "tokenizer.json", "tokenizer_config.json" })]
    [InlineData("gpt2_small", new[] { "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })]
    public void TheFilesWritten_AreListed_AndNothingElse(string name, string[] files)
    {
        var (dir, export) = exports.Written(name);
        Assert.Null(export.Limitation);
        Assert.Equal(files, export.FilesWritten);
        Assert.Equal(files.Order(), Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Gpt2Bpe_VocabAndMerges_AreTheDescribedText()
    {
        var dir = exports.Written("gpt2_small").Dir;
        var (vocab, merges) = SmallBpe.Gpt2();
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(vocab), File.ReadAllBytes(Path.Combine(dir, HfTokenizer.VocabFile)));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(merges), File.ReadAllBytes(Path.Combine(dir, HfTokenizer.MergesFile)));
    }

    [Theory]
    [InlineData("gpt2_small", "GPT2Tokenizer", true)]
    [InlineData("cl100k_base", "PreTrainedTokenizerFast", true)]
    [InlineData("char", "PreTrainedTokenizerFast", false)]
    public void TokenizerConfig_NamesTheClass_AndKeepsSpacesWhenDecoding(string name, string tokenizerClass, bool endOfText)
    {
        var dir = exports.Written(name).Dir;
        var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, HfTokenizer.ConfigFile))).RootElement;
        Assert.Equal(tokenizerClass, config.GetProperty("tokenizer_class").GetString());
        Assert.False(config.GetProperty("clean_up_tokenization_spaces").GetBoolean());
        Assert.Equal(256, config.GetProperty("model_max_length").GetInt32());
        Assert.Equal(endOfText, config.TryGetProperty("eos_token", out var eos));
        if (endOfText)
        {
            Assert.Equal("<|endoftext|>", eos.GetString());
            var map = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, HfTokenizer.SpecialTokensFile))).RootElement;
            Assert.Equal(["bos_token", "eos_token", "unk_token"], map.EnumerateObject().Select(p => p.Name));
            Assert.All(map.EnumerateObject(), p => Assert.Equal("<|endoftext|>", p.Value.GetString()));
        }
    }

    [Fact]
    public void Gpt2Bpe_WithoutEndOfText_SaysItHasNoSpecialTokens()
    {
        using var dir = new TempDir();
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(SmallBpe.Gpt2().VocabJson)!;
        vocab.Remove("<|endoftext|>");
        var export = HfTokenizer.Write(new TokenizerDescription(TokenizerKind.Bpe, VocabJson: JsonSerializer.Serialize(vocab), Merges: SmallBpe.Gpt2().Merges), dir.Path);
        Assert.DoesNotContain(HfTokenizer.SpecialTokensFile, export.FilesWritten);
        var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, HfTokenizer.ConfigFile))).RootElement;
        // Null, not absent: GPT2Tokenizer's defaults would add <|endoftext|> as a new token.
        Assert.All(["bos_token", "eos_token", "unk_token"], role => Assert.Equal(JsonValueKind.Null, config.GetProperty(role).ValueKind));
    }

    [Fact]
    public void CompactIds_WriteNothing_AndSayWhy()
    {
        using var dir = new TempDir();
        var inner = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var compact = new CompactTokenizer(inner, inner.Encode(SmallBpe.MultiByteText));
        var export = HfTokenizer.Write(compact.Describe(), dir.Path);
        Assert.Empty(export.FilesWritten);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
        Assert.StartsWith($"compact ids ({compact.VocabSize - 1} ids of cl100k_base renumbered", export.Limitation);
        Assert.DoesNotContain('\n', export.Limitation);
    }

    [Theory]
    [InlineData("char")]
    [InlineData("o200k_base")]
    [InlineData("gpt2_small")]
    public void Writing_IsDeterministic(string name)
    {
        var first = exports.Written(name);
        using var again = new TempDir();
        var export = HfTokenizer.Write(HfExports.Description(name), again.Path, modelMaxLength: 256);
        Assert.Equal(first.Export.FilesWritten, export.FilesWritten);
        foreach (var file in export.FilesWritten)
            Assert.True(File.ReadAllBytes(Path.Combine(first.Dir, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(again.Path, file))), $"{file} differs");
    }

    [Fact]
    public void ADamagedDescription_IsADataException()
    {
        using var dir = new TempDir();
        Assert.Throws<DataException>(() => HfTokenizer.Write(new TokenizerDescription(TokenizerKind.Bpe, Tiktoken: "aGVsbG8= notanumber\n"), dir.Path));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
