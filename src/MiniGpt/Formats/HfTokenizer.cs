using System.Text.Json;
using MiniGpt.Data;
using MiniGpt.IO;

namespace MiniGpt.Formats;

/// <summary>What <see cref="HfTokenizer.Write"/> wrote.</summary>
/// <param name="FilesWritten">The names of the files written, relative to the folder, in the order written.</param>
/// <param name="Limitation">One line saying what could not be expressed in Hugging Face's files, or null.</param>
public sealed record TokenizerExport(IReadOnlyList<string> FilesWritten, string? Limitation);

/// <summary>
/// A MiniGpt tokenizer as the files Hugging Face's <c>tokenizers</c> and <c>transformers</c> (AutoTokenizer) load,
/// giving the same ids for the same text and decoding them back to it.
/// </summary>
public static class HfTokenizer
{
    public const string TokenizerFile = "tokenizer.json";
    public const string ConfigFile = "tokenizer_config.json";
    public const string SpecialTokensFile = "special_tokens_map.json";
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";

    /// <summary>
    /// Writes into <paramref name="dir"/> the Hugging Face files for this tokenizer, and nothing else, each atomically:
    /// <list type="bullet">
    /// <item>bpe from vocab.json + merges.txt: both exactly as described, and a tokenizer.json with the same BPE;</item>
    /// <item>char: a tokenizer.json that splits text into characters and maps each to its id;</item>
    /// <item>cl100k_base, o200k_base, bpe from a .tiktoken file: a tokenizer.json holding a byte-level BPE rebuilt from
    /// the ranks, the encoding's split pattern and its special tokens as added tokens;</item>
    /// <item>compact ids: nothing, and a limitation (a renumbered subset of a BPE vocabulary has no such form).</item>
    /// </list>
    /// Beside them, tokenizer_config.json for AutoTokenizer, and special_tokens_map.json where the vocabulary has
    /// &lt;|endoftext|&gt;.
    /// </summary>
    /// <param name="modelMaxLength">The longest sequence the model takes (its block size), for tokenizer_config.json; null leaves it out.</param>
    /// <exception cref="DataException">The description cannot be read (damaged vocabulary, merges or rank file).</exception>
    public static TokenizerExport Write(TokenizerDescription description, string dir, int? modelMaxLength = null)
    {
        if (description.CompactIds is { } compact)
            return new([], $"compact ids ({compact.Length} ids of {Choices.Name(description.Kind)} renumbered, and one for unknown text) "
                           + "have no Hugging Face tokenizer form; no tokenizer files were written");
        const string source = "tokenizer description";
        // Building MiniGpt's own tokenizer checks the description, and gives its split pattern and special tokens.
        var tokenizer = Tokenizers.FromDescription(description, source);
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        void Text(string name, string text)
        {
            AtomicFile.WriteAllText(Path.Combine(dir, name), text);
            files.Add(name);
        }
        string tokenizerClass = "PreTrainedTokenizerFast";
        if (tokenizer is CharTokenizer)
        {
            TokenizerJson.WriteChars(Path.Combine(dir, TokenizerFile), description.Chars!.EnumerateRunes().Select(r => r.ToString()).ToList());
            files.Add(TokenizerFile);
        }
        else
        {
            var library = (LibraryTokenizer)tokenizer;
            ByteLevelBpe bpe;
            if (description.VocabJson is { } vocabJson && description.Merges is { } merges)
            {
                Text(VocabFile, vocabJson);
                Text(MergesFile, merges);
                tokenizerClass = "GPT2Tokenizer";   // reads vocab.json + merges.txt itself, and tokenizer.json when there is one
                bpe = ByteLevelBpe.FromGpt2(vocabJson, merges);
            }
            else bpe = ByteLevelBpe.FromRanks(TiktokenRanks.Of(description)!, library.SpecialTokens, source);
            TokenizerJson.WriteByteLevelBpe(Path.Combine(dir, TokenizerFile), bpe, library.Pattern,
                library.SpecialTokens.Select(kv => (kv.Key, kv.Value)).ToList());
            files.Add(TokenizerFile);
        }
        bool endOfText = tokenizer is LibraryTokenizer l && l.SpecialTokens.ContainsKey(LibraryTokenizer.EndOfText);
        WriteConfig(Path.Combine(dir, ConfigFile), tokenizerClass, endOfText, modelMaxLength);
        files.Add(ConfigFile);
        if (endOfText)
        {
            TokenizerJson.WriteObject(Path.Combine(dir, SpecialTokensFile), SpecialTokens);
            files.Add(SpecialTokensFile);
        }
        return new TokenizerExport(files, Limitation: null);
    }

    /// <summary>
    /// tokenizer_config.json: which transformers class loads the files, and settings whose defaults would change
    /// the text: clean_up_tokenization_spaces would delete spaces before punctuation when decoding.
    /// </summary>
    static void WriteConfig(string path, string tokenizerClass, bool endOfText, int? modelMaxLength) => TokenizerJson.WriteObject(path, w =>
    {
        w.WriteString("tokenizer_class", tokenizerClass);
        if (tokenizerClass == "GPT2Tokenizer") w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        if (modelMaxLength is { } max) w.WriteNumber("model_max_length", max);
        if (endOfText) SpecialTokens(w);
        // GPT2Tokenizer would otherwise add an <|endoftext|> the vocabulary lacks, as a new token.
        else if (tokenizerClass == "GPT2Tokenizer") foreach (var role in Roles) w.WriteNull(role);
    });

    static readonly string[] Roles = ["bos_token", "eos_token", "unk_token"];

    /// <summary>GPT-2's convention: &lt;|endoftext|&gt; begins, ends and stands for unknown text.</summary>
    static void SpecialTokens(Utf8JsonWriter w)
    {
        foreach (var role in Roles) w.WriteString(role, LibraryTokenizer.EndOfText);
    }
}
