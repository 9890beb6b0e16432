using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Model;

namespace MiniGpt.Formats;

/// <summary>
/// A Hugging Face GPT-2 model folder: config.json, model.safetensors and a tokenizer, either MiniGpt's own
/// description (an export's, which loses nothing) or GPT-2's vocab.json + merges.txt. Opening it reads and
/// checks the config, the tokenizer and the weights' header; the weights themselves are read by <see cref="LoadInto"/>.
/// </summary>
public sealed class HfModelFolder : IDisposable
{
    public const string WeightsFile = "model.safetensors";
    public const string TokenizerDescriptionFile = "minigpt_tokenizer.json";

    public string Dir { get; }
    public HfGpt2Config Config { get; }
    public ITokenizer Tokenizer { get; }
    readonly SafeTensorsFile weights;

    HfModelFolder(string dir, HfGpt2Config config, ITokenizer tokenizer, SafeTensorsFile weights)
        => (Dir, Config, Tokenizer, this.weights) = (dir, config, tokenizer, weights);

    /// <summary>Whether <paramref name="dir"/> looks like a model folder (it has a config.json), as opposed to a run folder.</summary>
    public static bool IsModelFolder(string dir) => File.Exists(Path.Combine(dir, HfGpt2Config.FileName));

    public static HfModelFolder Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new DataException(dir, $"model folder {dir} not found");
        var config = HfGpt2Config.Load(Path.Combine(dir, HfGpt2Config.FileName));
        var tokenizer = ReadTokenizer(dir);
        if (tokenizer.VocabSize != config.VocabSize)
            throw new DataException(dir, $"{dir}: the tokenizer has {tokenizer.VocabSize} ids, but config.json's vocab_size is {config.VocabSize}");
        var path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path)) throw new DataException(path, $"{path} not found (MiniGpt reads weights in the safetensors format)");
        var weights = SafeTensorsFile.Open(path);
        try
        {
            HfGpt2Weights.Check(weights, config);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
        return new HfModelFolder(dir, config, tokenizer, weights);
    }

    static ITokenizer ReadTokenizer(string dir)
    {
        var described = Path.Combine(dir, TokenizerDescriptionFile);
        if (File.Exists(described))
        {
            TokenizerDescription? d;
            try { d = JsonSerializer.Deserialize<TokenizerDescription>(Tokenizers.ReadFile(described, "tokenizer description"), TokenCacheMeta.Json); }
            catch (JsonException e) { throw new DataException(described, $"{described}: damaged tokenizer description: {e.Message}"); }
            return Tokenizers.FromDescription(d ?? throw new DataException(described, $"{described}: empty tokenizer description"), described);
        }
        string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges)) return Tokenizers.CreateBpe(TokenizerKind.Bpe, vocab, merges);
        throw new DataException(dir, $"{dir} holds no tokenizer MiniGpt reads: it needs vocab.json and merges.txt (GPT-2's BPE) or {TokenizerDescriptionFile}");
    }

    /// <summary>
    /// <paramref name="c"/> as it must be to train or sample this model: its architecture and tokenizer kind, and
    /// a block_size no larger than n_positions (the config's, or n_positions when <paramref name="c"/> is null).
    /// </summary>
    public TrainConfig Apply(TrainConfig? c)
    {
        var applied = Config.ApplyTo((c ?? new TrainConfig { BlockSize = Config.NPositions }) with { Tokenizer = Tokenizer.Kind });
        if (applied.BlockSize > Config.NPositions)
            throw new ConfigException("block_size", applied.BlockSize, $"must not exceed the n_positions ({Config.NPositions}) of the model in {Dir}");
        return applied;
    }

    /// <summary>A model of <paramref name="c"/>'s shape (<see cref="Apply"/>) with this folder's weights.</summary>
    public Gpt Build(TrainConfig c)
    {
        var model = new Gpt(c.ToGptConfig(Config.VocabSize), c.Seed);
        try
        {
            LoadInto(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void LoadInto(Gpt model) => HfGpt2Weights.LoadInto(weights, Config, model);

    public void Dispose() => weights.Dispose();
}
