using MedDistill.Models.Networks;

namespace MedDistill.Models;

/// <summary>Resolves the zoo's networks by name, as experiment configurations and the CLI spell them.</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, Func<ModelOptions, SegmentationModel>> factories = new(StringComparer.OrdinalIgnoreCase)
    {
        // One line per network: "name" = options => new Network(options).
        ["espnet"] = options => new ESPNet(options),
        // Not in Table 1: EagleMIT/EMKD's ESPNet, whose 2-class logits depend on the whole encoder (docs/models.md).
        ["espnet-emkd"] = ESPNet.CreateEmkd,
        ["enet"] = options => new ENet(options),
        ["erfnet"] = options => new ERFNet(options),
        ["unetpp"] = options => new NestedUNet(options),
        ["deeplabv3plus"] = options => new DeepLabV3Plus(options),
        ["unet"] = options => new UNet(options),
        // Not in Table 1: ACW-SKD's self-distilled student, aux head on the 1/4 decoder stage (docs/models.md).
        [ResNet18UNet.RegistryName] = options => new ResNet18UNet(options),
        // Not in Table 1: GKD's MobileNetV2-UNet student (docs/models.md).
        [MobileNetV2UNet.RegistryName] = options => new MobileNetV2UNet(options),
    };

    /// <summary>Registered names, in the order of the Affinity-KD paper's Table 1 where they appear there.</summary>
    public static IReadOnlyList<string> Names => factories.Keys.ToList();

    public static SegmentationModel Create(string name, ModelOptions options)
    {
        if (!factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"unknown model '{name}'; known models: {string.Join(", ", Names)}", nameof(name));
        return factory(options);
    }
}
