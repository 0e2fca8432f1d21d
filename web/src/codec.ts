// The frame codecs of tdpb.proto's `Codec` enum, on their own so the decoder
// worker can tell them apart without bundling the protobuf codec;
// protocol.ts re-exports them and checks them against the schema.

export const Codec = { QOIZ: 1, QOIZ_STREAM: 2, QOIZ_SESSION: 3, VP8: 4 } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];
