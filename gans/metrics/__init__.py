"""Sample-quality metrics: feature networks, reference statistics, FID/IS/KID/PRDC, protocol."""
