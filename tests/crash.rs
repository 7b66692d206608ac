use super::common::*;
