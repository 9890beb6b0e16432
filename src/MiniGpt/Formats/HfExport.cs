using System.Text.Json;
using System.Text.Json.Nodes;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.IO;
using MiniGpt.Model;
using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>What an export wrote, and what the Hugging Face files could not express (one line each).</summary>
public sealed record ExportResult(string Dir, IReadOnlyList<string> Files, IReadOnlyList<string> Limitations);

/// <summary>
/// Writes a model as a Hugging Face GPT-2 folder that transformers' GPT2LMHeadModel.from_pretrained loads:
/// model.safetensors, config.json, generation_config.json, the tokenizer in Hugging Face's files, and MiniGpt's
/// own tokenizer description so that an import restores the exact tokenizer. The folder appears whole or not
/// at all: it is written in a staging folder (beside a new destination, inside an existing empty one) and moved
/// into place.
/// </summary>
public static class HfExport
{
    public static ExportResult Write(Gpt model, TrainConfig config, ITokenizer tokenizer, string dir, TensorDtype dtype)
    {
        if (config.PositionEncoding == PositionEncoding.Rotary)
            throw new ConfigException("position_encoding", "rotary", "has no GPT-2 equivalent: only models with learned or sinusoidal positions export");
        var parentFile = Path.GetDirectoryName(Path.GetFullPath(dir));
        while (parentFile is not null && !Directory.Exists(parentFile) && !File.Exists(parentFile)) parentFile = Path.GetDirectoryName(parentFile);
        if (parentFile is not null && File.Exists(parentFile))
            throw new DataException(dir, $"{dir} cannot be made: {parentFile} is a file, not a folder");
        if (string.IsNullOrWhiteSpace(dir)) throw new ArgumentException("an export needs a folder", nameof(dir));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));   // "out/" and "." name their folder too
        var parent = Path.GetDirectoryName(full) ?? throw new DataException(dir, $"{dir} is a root; export writes into a folder");
        var prefix = AtomicFile.Prefix(full) + "export-";   // cut as a temporary file's: a long name still leaves room for the GUID and ".lock"
        if (Directory.Exists(full)) RemoveDeadStaging(full, prefix);
        if (File.Exists(dir) || (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()))
            throw new DataException(dir, $"{dir} already exists and is not empty; export writes a new or empty folder");
        // Into an existing (empty) folder the staging folder goes inside it: the folder may be a file system of its
        // own (a mount point), where a move from beside it is a copy that a full disk cuts short, leaving part of a
        // file behind. A new folder is made beside, then renamed into place.
        var home = Directory.Exists(full) ? full : parent;
        var staging = Path.Combine(home, $"{prefix}{Guid.NewGuid():N}");
        FileStream held;
        try
        {
            Directory.CreateDirectory(home);
            RemoveDeadStaging(home, prefix);
            held = Hold(staging);   // first, so that a staging folder without a held lock is a dead export's
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw CannotWrite(dir, e); }
        using var _ = held;
        try
        {
            Directory.CreateDirectory(staging);
            using (NewDisposeScope())
                SafeTensorsWriter.Write(Path.Combine(staging, HfModelFolder.WeightsFile), HfGpt2Weights.Export(model), dtype,
                    new Dictionary<string, string> { ["format"] = "pt" });
            int? eot = Tokenizers.EndOfTextId(tokenizer);
            var torchDtype = dtype == TensorDtype.BF16 ? "bfloat16" : "float32";
            var generation = new JsonObject { ["_from_model_config"] = true, ["bos_token_id"] = eot, ["eos_token_id"] = eot };
            AtomicFile.WriteAllText(Path.Combine(staging, "generation_config.json"), generation.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            AtomicFile.WriteAllText(Path.Combine(staging, HfModelFolder.TokenizerDescriptionFile), JsonSerializer.Serialize(tokenizer.Describe(), TokenCacheMeta.Json));
            var tok = HfTokenizer.Write(tokenizer.Describe(), staging, modelMaxLength: config.BlockSize);
            AtomicFile.WriteAllText(Path.Combine(staging, HfGpt2Config.FileName), HfGpt2Config.ToJson(config, model.Config.VocabSize, eot, torchDtype));
            var files = Directory.GetFiles(staging).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Publish(staging, full, dir);
            return new ExportResult(dir, files!, tok.Limitation is { } l ? [l] : []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw CannotWrite(dir, e); }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>A write that failed (a full disk, a folder that cannot be written): .NET names the staging file or lock, which the user never chose.</summary>
    static DataException CannotWrite(string dir, Exception e) => new(dir, $"cannot write the export to {dir}: {e.Message}", e);

    const string LockSuffix = ".lock";

    /// <summary>An export's lock beside its staging folder, held by the kernel for as long as the process lives.</summary>
    static FileStream Hold(string staging)
        => new(staging + LockSuffix, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);

    /// <summary>
    /// The staging folders of exports to the same folder that were killed (kill -9, a power cut): their locks are no
    /// longer held. A running export's lock is, and its folder is left to it.
    /// </summary>
    static void RemoveDeadStaging(string parent, string prefix)
    {
        if (!Directory.Exists(parent)) return;
        var locks = Directory.GetFiles(parent, prefix + "*" + LockSuffix).Select(l => l[..^LockSuffix.Length]);
        foreach (var dead in Directory.GetDirectories(parent, prefix + "*").Union(locks))   // a lock alone: killed before its folder was made
        {
            try
            {
                using (new FileStream(dead + LockSuffix, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose))
                    if (Directory.Exists(dead)) Directory.Delete(dead, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // held: an export at work
        }
    }

    /// <summary>
    /// A new folder is the staging folder renamed: it appears whole. Into an existing empty one (the current
    /// folder, say, which cannot be replaced) the files move one by one out of the staging folder inside it, each a
    /// rename, config.json last, since a folder is a model folder only once it has one.
    /// </summary>
    static void Publish(string staging, string full, string dir)
    {
        if (Path.GetDirectoryName(staging) != full)
        {
            try { Directory.Move(staging, full); }
            catch (IOException) when (Directory.Exists(full)) { throw Overtaken(dir); }
            return;
        }
        foreach (var file in Directory.GetFiles(staging).OrderBy(f => Path.GetFileName(f) == HfGpt2Config.FileName))
        {
            var to = Path.Combine(full, Path.GetFileName(file));
            if (File.Exists(to)) throw Overtaken(dir);
            File.Move(file, to, overwrite: false);
        }
    }

    static DataException Overtaken(string dir) => new(dir, $"{dir} was written by another export meanwhile; export writes a new or empty folder");
}
