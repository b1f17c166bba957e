"""One file per enterprise (一企一档): registry fields, yearly figures, certifications, tags and
cultivation tiers (梯度培育), with what the platform measures beside them."""
