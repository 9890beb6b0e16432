using System.Text.Json;
using System.Text.Json.Nodes;
using MiniGpt.Config;
using MiniGpt.Model;

namespace MiniGpt.Formats;

/// <summary>
/// The shape a Hugging Face GPT-2 config.json gives (GPT2Config's fields), read from an untrusted file and
/// written for export. Each field becomes the MiniGpt key of the same meaning; GPT-2 always has biases and a
/// learned position table, and its head is tied to wte.
/// </summary>
public sealed record HfGpt2Config(int NLayer, int NHead, int NEmbd, int? NInner, int NPositions, int VocabSize, Activation Activation, double LayerNormEpsilon)
{
    public const string FileName = "config.json";

    /// <summary>transformers' names for the activations MiniGpt computes; gelu_new, gelu_pytorch_tanh and gelu_fast are one formula.</summary>
    static readonly Dictionary<string, Activation> Activations = new()
    {
        ["gelu"] = Activation.Gelu,
        ["gelu_new"] = Activation.GeluTanh,
        ["gelu_pytorch_tanh"] = Activation.GeluTanh,
        ["gelu_fast"] = Activation.GeluTanh,
    };

    public static HfGpt2Config Load(string path)
    {
        if (!File.Exists(path)) throw new DataException(path, $"{path} not found");
        JsonObject o;
        try
        {
            long length = IO.EmptyFile.Size(path) ?? throw new DataException(path, $"{path} not found (a link to nothing)");
            if (length > 1 << 20) throw new DataException(path, $"{path}: {length} bytes is too large for a model config");
            if (length == 0) throw new DataException(path, $"{path}: {IO.EmptyFile.Says}");
            var text = IO.TextFile.Read(path, 1 << 20, "a model config");   // a file that grows past its size is still read only to the limit
            using (var doc = JsonDocument.Parse(text))   // JsonNode would throw an ArgumentException on a repeated key, and only when read
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.EnumerateObject().GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
                    throw new DataException(path, $"{path}: lists \"{twice.Key}\" twice");
            o = JsonNode.Parse(text) as JsonObject ?? throw new DataException(path, $"{path}: the top level must be a JSON object");
        }
        catch (JsonException ex) { throw new DataException(path, $"{path}: not valid JSON: {ex.Message}"); }
        DataException Bad(string key, string why) => new(path, $"{path}: {key}: {why}");

        if (o["model_type"] is { } type && type.GetValueKind() == JsonValueKind.String && (string)type! != "gpt2")
            throw Bad("model_type", $"'{(string)type!}' is not gpt2; MiniGpt imports the GPT-2 architecture only");
        foreach (var (key, expected) in new[] { ("scale_attn_weights", true), ("scale_attn_by_inverse_layer_idx", false), ("tie_word_embeddings", true), ("add_cross_attention", false) })
            if (o[key] is { } v && (v.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False) || (bool)v! != expected))
                throw Bad(key, $"must be {(expected ? "true" : "false")} for a model MiniGpt can compute, not {v.ToJsonString()}");

        int Int(string key, string? fallback = null)
        {
            if (!o.TryGetPropertyValue(key, out var node) && (fallback is null || !o.TryGetPropertyValue(fallback, out node))) throw Bad(key, "missing");
            if (node is null || node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue(out int i) || i < 1)
                throw Bad(key, $"expected a positive integer, not {node?.ToJsonString() ?? "null"}");
            return i;
        }
        int? inner = o["n_inner"] is { } n && n.GetValueKind() != JsonValueKind.Null ? Int("n_inner") : null;
        string act = o["activation_function"] is { } a ? (a.GetValueKind() == JsonValueKind.String ? (string)a! : throw Bad("activation_function", $"expected a string, not {a.ToJsonString()}")) : "gelu_new";
        if (!Activations.TryGetValue(act, out var activation))
            throw Bad("activation_function", $"'{act}' is not one MiniGpt computes ({string.Join(", ", Activations.Keys)})");
        double eps = 1e-5;
        if (o["layer_norm_epsilon"] is { } e && (e.GetValueKind() != JsonValueKind.Number || !double.IsFinite(eps = (double)e!) || eps <= 0))
            throw Bad("layer_norm_epsilon", $"expected a positive number, not {e.ToJsonString()}");

        // n_ctx is the older name of n_positions.
        var c = new HfGpt2Config(Int("n_layer"), Int("n_head"), Int("n_embd"), inner, Int("n_positions", "n_ctx"), Int("vocab_size"), activation, eps);
        if (TrainConfig.Schema.Problems(c.ApplyTo(new TrainConfig { BlockSize = c.NPositions })).FirstOrDefault() is { } problem)
            // The position table's length is checked as block_size, which n_positions sets here.
            throw new DataException(path, $"{path}: {(problem.Key == "block_size" ? problem with { Key = "n_positions" } : problem).Setting}");
        return c;
    }

    /// <summary>
    /// <paramref name="c"/> with this model's architecture: its shape, biases, learned positions and activation.
    /// block_size stays the config's (a smaller one crops the position table); the tokenizer comes with the model's files.
    /// </summary>
    public TrainConfig ApplyTo(TrainConfig c) => c with
    {
        NLayer = NLayer, NHead = NHead, NEmbd = NEmbd, NInner = NInner, Activation = Activation,
        LayerNormEpsilon = LayerNormEpsilon, Bias = true, PositionEncoding = PositionEncoding.Learned,
    };

    /// <summary>transformers' GPT2Config for a MiniGpt model (dropouts as trained; n_positions is block_size).</summary>
    public static string ToJson(TrainConfig c, int vocabSize, int? endOfText, string torchDtype)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["vocab_size"] = vocabSize,
            ["n_positions"] = c.BlockSize,
            ["n_ctx"] = c.BlockSize,
            ["n_embd"] = c.NEmbd,
            ["n_layer"] = c.NLayer,
            ["n_head"] = c.NHead,
            ["n_inner"] = c.NInner,
            ["activation_function"] = c.Activation == Activation.GeluTanh ? "gelu_new" : "gelu",
            ["layer_norm_epsilon"] = c.LayerNormEpsilon,
            ["resid_pdrop"] = c.Dropout,
            ["embd_pdrop"] = c.Dropout,
            ["attn_pdrop"] = c.Dropout,
            ["initializer_range"] = 0.02,
            ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = true,
            ["bos_token_id"] = endOfText,
            ["eos_token_id"] = endOfText,
            ["torch_dtype"] = torchDtype,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
