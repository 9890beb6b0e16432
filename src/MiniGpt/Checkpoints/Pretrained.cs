using MiniGpt.Formats;
using MiniGpt.Hub;

namespace MiniGpt.Checkpoints;

/// <summary>Pretrained weights named by init_from or --checkpoint: a local Hugging Face folder, or a GPT-2 size from the hub.</summary>
public static class Pretrained
{
    /// <summary>
    /// The local folder holding the model: <paramref name="name"/> itself when it is a model folder (as
    /// transformers prefers a local folder), else the hub's snapshot of a known GPT-2 size, downloaded once;
    /// null when the name is neither, or is another folder (a run's, which a local gpt2/ may well be).
    /// </summary>
    public static string? Locate(string name, HubOptions? hub, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        if (Directory.Exists(name)) return HfModelFolder.IsModelFolder(name) ? name : null;
        if (!PretrainedModels.TryGetRepo(name, out var repo)) return null;
        return HubDownloader.Snapshot(repo, PretrainedModels.RequiredFiles, PretrainedModels.OptionalFiles, hub ?? throw new ArgumentNullException(nameof(hub), $"{name} needs hub options to download"), progress, ct);
    }

    /// <summary>Opens what <see cref="Locate"/> finds; a name that is neither is a <see cref="DataException"/>.</summary>
    public static HfModelFolder Open(string name, HubOptions? hub, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => HfModelFolder.Open(Locate(name, hub, progress, ct) ?? throw new DataException(name,
            Directory.Exists(name) ? $"{name} is not a model folder: it has no {HfGpt2Config.FileName}"
                                   : $"{name} is neither a model folder nor one of {string.Join(", ", PretrainedModels.Names)}"));
}
