using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>
/// MiniGpt's parameters in Hugging Face's GPT-2 layout. The names are the same (MiniGpt's modules follow
/// GPT-2's), but transformers keeps the four projections as Conv1D, whose weight is stored (in, out): the
/// transpose of a Linear's (out, in). The head is tied to wte, so the file holds no lm_head, and the
/// attention masks GPT-2 saved as buffers (attn.bias, attn.masked_bias) carry no weights.
/// </summary>
public static class HfGpt2Weights
{
    const string Prefix = "transformer.";
    const string Head = "lm_head.weight";

    /// <summary>Each weight as (MiniGpt's name, the file's name, whether the file holds it transposed).</summary>
    public static IReadOnlyList<(string Name, bool Conv1D)> Layout(int nLayer)
    {
        var names = new List<(string, bool)> { ("wte.weight", false), ("wpe.weight", false) };
        for (int l = 0; l < nLayer; l++)
        {
            var h = $"h.{l}.";
            names.AddRange([
                (h + "ln_1.weight", false), (h + "ln_1.bias", false),
                (h + "attn.c_attn.weight", true), (h + "attn.c_attn.bias", false),
                (h + "attn.c_proj.weight", true), (h + "attn.c_proj.bias", false),
                (h + "ln_2.weight", false), (h + "ln_2.bias", false),
                (h + "mlp.c_fc.weight", true), (h + "mlp.c_fc.bias", false),
                (h + "mlp.c_proj.weight", true), (h + "mlp.c_proj.bias", false),
            ]);
        }
        names.AddRange([("ln_f.weight", false), ("ln_f.bias", false)]);
        return names;
    }

    /// <summary>The shape the file must give each weight, for a model of <paramref name="c"/>'s config.</summary>
    static long[] FileShape(string name, bool conv1D, HfGpt2Config c)
    {
        long C = c.NEmbd, I = c.NInner ?? 4 * C;
        long[] shape = name switch
        {
            "wte.weight" => [c.VocabSize, C],
            "wpe.weight" => [c.NPositions, C],
            _ when name.EndsWith("attn.c_attn.weight") => [3 * C, C],
            _ when name.EndsWith("attn.c_attn.bias") => [3 * C],
            _ when name.EndsWith("mlp.c_fc.weight") => [I, C],
            _ when name.EndsWith("mlp.c_fc.bias") => [I],
            _ when name.EndsWith("mlp.c_proj.weight") => [C, I],
            _ when name.EndsWith("attn.c_proj.weight") => [C, C],
            _ => [C],
        };
        return conv1D ? [shape[1], shape[0]] : shape;
    }

    /// <summary>A mask buffer of one of the model's layers (a later layer's would belong to another model).</summary>
    static bool IsMaskBuffer(string name, int nLayer)
    {
        var parts = name.Split('.');
        return parts is ["h", var l, "attn", "bias" or "masked_bias"] && int.TryParse(l, out int layer) && layer >= 0 && layer < nLayer && l == layer.ToString();
    }

    /// <summary>The names under which the file holds a head, with and without transformers' prefix.</summary>
    static IEnumerable<string> Heads(SafeTensorsFile file) => new[] { Head, Prefix + Head }.Where(file.Contains);

    /// <summary>
    /// Checks, from the header alone, that the file holds exactly the weights <paramref name="c"/> implies, each of
    /// its shape; returns MiniGpt's name → the file's name (with or without transformers' "transformer." prefix).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Check(SafeTensorsFile file, HfGpt2Config c)
    {
        var byName = new Dictionary<string, string>();
        foreach (var t in file.Tensors)
        {
            var name = t.Name.StartsWith(Prefix) ? t.Name[Prefix.Length..] : t.Name;
            if (name == Head || IsMaskBuffer(name, c.NLayer)) continue;
            if (!byName.TryAdd(name, t.Name)) throw Bad(file, $"holds {name} twice ({byName[name]} and {t.Name})");
        }
        var layout = Layout(c.NLayer);
        var expected = layout.Select(w => w.Name).ToHashSet();
        if (byName.Keys.FirstOrDefault(n => !expected.Contains(n)) is { } extra)
            throw Bad(file, $"tensor {byName[extra]} is not a weight of a {c.NLayer}-layer GPT-2");
        foreach (var (name, conv1D) in layout)
        {
            if (!byName.TryGetValue(name, out var stored)) throw Bad(file, $"tensor {name} is missing");
            var shape = FileShape(name, conv1D, c);
            if (!file[stored].Shape.SequenceEqual(shape))
                throw Bad(file, $"tensor {stored} has shape [{string.Join(", ", file[stored].Shape)}], but config.json implies [{string.Join(", ", shape)}]");
        }
        foreach (var head in Heads(file))
            if (!file[head].Shape.SequenceEqual(FileShape("wte.weight", false, c)))
                throw Bad(file, $"tensor {head} has shape [{string.Join(", ", file[head].Shape)}], but the tied head must be wte's");
        return byName;
    }

    /// <summary>
    /// Reads the file's weights into <paramref name="model"/>, one tensor at a time; a position table longer than
    /// the model's block_size is cropped (nanoGPT's crop_block_size). An lm_head, if present, must equal wte.
    /// </summary>
    public static void LoadInto(SafeTensorsFile file, HfGpt2Config c, Gpt model)
    {
        var names = Check(file, c);
        var ours = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = no_grad();
        foreach (var (name, conv1D) in Layout(c.NLayer))
        {
            if (!ours.TryGetValue(name, out var p)) throw new ArgumentException($"the model has no parameter {name}; build it with biases and learned positions");
            using var scope = NewDisposeScope();
            var t = file.ReadFloat32(names[name]);                       // the file's shape
            if (conv1D) t = t.t();                                        // (out, in)
            if (name == "wpe.weight") t = t.narrow(0, 0, p.shape[0]);     // (block_size, C)
            p.copy_(t);
        }
        using var wte = ours["wte.weight"].detach().cpu();
        foreach (var head in Heads(file))
        {
            using var scope = NewDisposeScope();
            var h = file.ReadFloat32(head);
            // Bit for bit, NaN included: a NaN in both is the same weight.
            if (!(h.eq(wte) | (h.isnan() & wte.isnan())).all().item<bool>())
                throw Bad(file, $"tensor {head} differs from wte.weight; MiniGpt's head is tied to the token embedding");
        }
    }

    /// <summary>
    /// The model's weights in the file's layout, made one at a time as the writer asks for them: absent biases
    /// as zeros, and a sinusoidal position table as the learned table it equals. Rotary positions have no GPT-2 form.
    /// </summary>
    public static IEnumerable<(string Name, Tensor Tensor)> Export(Gpt model)
    {
        var cfg = model.Config;
        if (cfg.PositionEncoding == PositionEncoding.Rotary)
            throw new NotSupportedException("rotary positions have no GPT-2 equivalent");
        var ours = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var c = new HfGpt2Config(cfg.NLayer, cfg.NHead, cfg.NEmbd, cfg.NInner, cfg.BlockSize, cfg.VocabSize, cfg.Activation, cfg.LayerNormEpsilon);
        foreach (var (name, conv1D) in Layout(cfg.NLayer))
        {
            var shape = FileShape(name, conv1D, c);
            if (ours.TryGetValue(name, out var p)) yield return (name, conv1D ? p.detach().t() : p.detach());
            else if (name == "wpe.weight") yield return (name, SinusoidalPositionalEncoding.Table(cfg.BlockSize, cfg.NEmbd, float32));
            else if (name.EndsWith(".bias")) yield return (name, zeros(shape));
            else throw new InvalidOperationException($"the model has no parameter {name}");
        }
    }

    static DataException Bad(SafeTensorsFile file, string why) => new(file.Path, $"{file.Path}: {why}");
}
