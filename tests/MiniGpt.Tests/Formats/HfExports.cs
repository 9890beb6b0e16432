using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Formats;

/// <summary>
/// The tokenizers checked against Hugging Face, each written once per test class (cl100k_base and o200k_base take
/// a second or two), with the texts their goldens were made from (Fixtures/hf_tokenizer, see
/// scripts/check_hf_tokenizer.mjs).
/// </summary>
public sealed class HfExports : IDisposable
{
    public static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf_tokenizer");
    static readonly string Shakespeare = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "data", "tinyshakespeare.txt");

    /// <summary>Every case with a golden: char on Shakespeare; the BPEs on a text of many scripts, code and whitespace.</summary>
    public static readonly TheoryData<string> Cases = new() { "char", "cl100k_base", "o200k_base", "gpt2_small", "tiktoken_small" };

    public static TokenizerDescription Description(string name) => name switch
    {
        "char" => CharTokenizer.FromDescription(File.ReadAllText(Shakespeare)).Describe(),
        "cl100k_base" => new(TokenizerKind.Cl100kBase),
        "o200k_base" => new(TokenizerKind.O200kBase),
        "gpt2_small" => new(TokenizerKind.Bpe, VocabJson: SmallBpe.Gpt2().VocabJson, Merges: SmallBpe.Gpt2().Merges),
        "tiktoken_small" => new(TokenizerKind.Bpe, Tiktoken: SmallBpe.Tiktoken()),
        _ => throw new ArgumentException(name),
    };

    /// <summary>The text's bytes: Shakespeare's first 20,000 characters for char, else mixed.txt (CRLF kept by its .gitattributes).</summary>
    public static byte[] Text(string name) => name == "char"
        ? Encoding.UTF8.GetBytes(File.ReadAllText(Shakespeare)[..20_000])
        : File.ReadAllBytes(Path.Combine(FixtureDir, "mixed.txt"));

    public static JsonElement Golden(string name)
        => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, $"{name}.golden.json"))).RootElement;

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    readonly TempDir root = new();
    readonly ConcurrentDictionary<string, Lazy<(string Dir, TokenizerExport Export)>> written = new();

    /// <summary>The folder <paramref name="name"/> was written to (model_max_length 256), and what Write returned.</summary>
    public (string Dir, TokenizerExport Export) Written(string name) => written.GetOrAdd(name, n => new(() =>
    {
        var dir = Path.Combine(root.Path, n);
        return (dir, HfTokenizer.Write(Description(n), dir, modelMaxLength: 256));
    })).Value;

    public JsonElement TokenizerJson(string name)
        => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Written(name).Dir, HfTokenizer.TokenizerFile))).RootElement;

    public void Dispose() => root.Dispose();
}
