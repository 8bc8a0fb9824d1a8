namespace MedDistill.Torch;

/// <summary>How a loss reduces its per-element values (codes are at::Reduction's, plus batch-mean for kl_div).</summary>
public enum Reduction
{
    None = 0,
    Mean = 1,
    Sum = 2,
    /// <summary>Sum divided by the batch size; kl_div only (the mathematically correct KL reduction).</summary>
    BatchMean = 3,
}

public enum InterpolationMode
{
    Nearest = 0,
    Bilinear = 1,
    Bicubic = 2,
}

public enum PaddingModes
{
    Constant = 0,
    Reflect = 1,
    Replicate = 2,
}

public enum GridSampleMode
{
    Bilinear = 0,
    Nearest = 1,
    Bicubic = 2,
}

public enum GridSamplePaddingMode
{
    Zeros = 0,
    Border = 1,
    Reflection = 2,
}
