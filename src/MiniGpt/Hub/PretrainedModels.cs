namespace MiniGpt.Hub;

/// <summary>The pretrained models MiniGpt knows by name, and the files it takes from their hub repositories.</summary>
public static class PretrainedModels
{
    static readonly (string Name, string Repo)[] Known =
    [
        ("gpt2", "openai-community/gpt2"),
        ("gpt2-medium", "openai-community/gpt2-medium"),
        ("gpt2-large", "openai-community/gpt2-large"),
        ("gpt2-xl", "openai-community/gpt2-xl"),
    ];

    /// <summary>The names, smallest model first.</summary>
    public static IReadOnlyList<string> Names { get; } = Known.Select(k => k.Name).ToArray();

    /// <summary>The files a model cannot do without: its config, weights and tokenizer.</summary>
    public static IReadOnlyList<string> RequiredFiles { get; } = ["config.json", "model.safetensors", "vocab.json", "merges.txt"];

    /// <summary>Files used when the repository has them.</summary>
    public static IReadOnlyList<string> OptionalFiles { get; } = ["generation_config.json"];

    /// <summary>The hub repository (owner/name) of a model MiniGpt knows by <paramref name="name"/> (exact spelling).</summary>
    public static bool TryGetRepo(string name, out string repo)
    {
        foreach (var k in Known)
            if (k.Name == name) { repo = k.Repo; return true; }
        repo = "";
        return false;
    }
}
