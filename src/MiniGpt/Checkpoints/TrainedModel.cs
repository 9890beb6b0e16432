using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Hub;
using MiniGpt.Generation;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Checkpoints;

/// <summary>A model, its tokenizer and its training config, restored from a checkpoint or pretrained weights for sampling or evaluation.</summary>
public sealed class TrainedModel : IDisposable
{
    public Gpt Model { get; }
    public ITokenizer Tokenizer { get; }
    public TrainConfig Config { get; }
    public int Step { get; }
    public string Path { get; }
    public Device Device { get; }

    TrainedModel(Gpt model, ITokenizer tokenizer, TrainConfig config, int step, string path, Device device)
        => (Model, Tokenizer, Config, Step, Path, Device) = (model, tokenizer, config, step, path, device);

    /// <summary>A folder is read as its best.ckpt, or last.ckpt if there is no best; a file is read as it is.</summary>
    public static string Resolve(string checkpoint)
    {
        if (File.Exists(checkpoint)) return checkpoint;
        if (Directory.Exists(checkpoint))
        {
            foreach (var name in new[] { Checkpoint.BestFile, Checkpoint.LastFile })
                if (File.Exists(System.IO.Path.Combine(checkpoint, name))) return System.IO.Path.Combine(checkpoint, name);
            throw new DataException(checkpoint, $"no best.ckpt or last.ckpt in {checkpoint}");
        }
        throw new DataException(checkpoint, $"checkpoint {checkpoint} not found");
    }

    /// <summary>
    /// A MiniGpt checkpoint (a file, or a run folder's best or last), or pretrained weights: a Hugging Face
    /// GPT-2 folder, or gpt2, gpt2-medium, gpt2-large or gpt2-xl, downloaded once with <paramref name="hub"/>'s settings.
    /// </summary>
    public static TrainedModel Load(string checkpoint, DeviceKind device = DeviceKind.Auto, HubOptions? hub = null,
        IProgress<DownloadProgress>? downloads = null, CancellationToken ct = default)
    {
        var dev = Devices.Resolve(device);   // before reading a possibly large file
        if (!File.Exists(checkpoint) && Pretrained.Locate(checkpoint, hub, downloads, ct) is { } folder)
            return LoadPretrained(folder, dev);
        var path = Resolve(checkpoint);
        var s = Checkpoint.Load(path, weightsOnly: true);
        var tokenizer = Tokenizers.FromDescription(s.Tokenizer, path);
        if (tokenizer.VocabSize != s.VocabSize)
        {
            foreach (var t in s.Tensors.Values) t.Dispose();
            throw new DataException(path, $"checkpoint {path} is unusable: its tokenizer has {tokenizer.VocabSize} ids but its model {s.VocabSize}");
        }
        var model = new Gpt(s.Config.ToGptConfig(s.VocabSize), s.Config.Seed);
        Checkpoint.CopyWeightsInto(s, model, path);
        foreach (var t in s.Tensors.Values) t.Dispose();
        model.to(dev);
        model.eval();
        return new TrainedModel(model, tokenizer, s.Config, s.Step, path, dev);
    }

    static TrainedModel LoadPretrained(string folder, Device dev)
    {
        using var hf = HfModelFolder.Open(folder);
        var config = hf.Apply(null);
        var model = hf.Build(config);
        model.to(dev);
        model.eval();
        return new TrainedModel(model, hf.Tokenizer, config, 0, folder, dev);
    }

    /// <summary>The prompt's ids; an empty prompt starts from a newline (or id 0 when the vocabulary has none).</summary>
    public IReadOnlyList<int> EncodePrompt(string prompt)
    {
        if (prompt.Length == 0) return [TextGenerator.StartToken(Tokenizer)];
        var ids = Tokenizer.Encode(prompt);
        // A vocabulary without GPT-2's 256 byte tokens can leave text with no token at all.
        return ids.Count > 0 ? ids : throw new DataException(Path, $"the prompt encodes to no tokens with the tokenizer of {Path}");
    }

    public void Dispose() => Model.Dispose();
}
